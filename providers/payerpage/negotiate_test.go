package payerpage

import (
	"testing"

	"till/catalog"
)

func TestNegotiate(t *testing.T) {
	for accept, want := range map[string]format{
		"":    formatText, // Go's client, wget
		"*/*": formatText, // curl
		"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8": formatHTML, // Chrome
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8":                       formatHTML, // Firefox, Safari
		"text/html":                         formatHTML,
		"application/json":                  formatJSON,
		"application/json, text/plain, */*": formatJSON, // axios
		"application/json;q=0.5, text/html": formatHTML,
		"text/plain":                        formatText,
		"text/*":                            formatText,
		"image/png":                         formatText, // nothing offered matches: text anyway
		"text/html;q=0, */*":                formatText,
		"garbage;;;":                        formatText,
	} {
		if got := negotiate(accept); got != want {
			t.Errorf("Accept %q: %d, want %d", accept, got, want)
		}
	}
}

func TestLanguage(t *testing.T) {
	for header, want := range map[string]catalog.Lang{
		"zh-CN,zh;q=0.9,en;q=0.8": catalog.Chinese,
		"zh":                      catalog.Chinese,
		"zh-Hans-CN":              catalog.Chinese,
		"en-GB,en;q=0.9,zh;q=0.8": catalog.English,
		"fr-FR, zh;q=0.5":         catalog.Chinese, // the first language there is a catalogue for
		"en;q=0.3, zh;q=0.7":      catalog.Chinese, // by quality, not by place
		"zh;q=0, en":              catalog.English,
	} {
		if got := language(header, catalog.Chinese); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
	for _, header := range []string{"", "fr", "*", "de-DE,ja;q=0.5", "zh;q=x"} {
		if got := language(header, catalog.Chinese); got != catalog.Chinese {
			t.Errorf("Accept-Language %q with a Chinese fallback: %s", header, got)
		}
		if got := language(header, ""); got != catalog.English {
			t.Errorf("Accept-Language %q with no fallback: %s", header, got)
		}
	}
}
