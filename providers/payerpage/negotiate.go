package payerpage

import (
	"mime"
	"sort"
	"strconv"
	"strings"

	"till/catalog"
)

// format is the kind of answer a request gets.
type format int

const (
	formatText format = iota // curl, scripts that ask for nothing in particular
	formatHTML               // a browser
	formatJSON               // a script that asks for application/json
)

// negotiate picks the answer's format from an Accept header, by quality:
// the most specific media range matching an offer gives its q; the best q
// wins; a tie goes to the offer whose range comes first in the header,
// then to plain text. So a browser (text/html, ... */*;q=0.8) gets HTML,
// "application/json" gets JSON, and curl's "*/*", a missing header or
// anything unreadable gets plain text.
func negotiate(accept string) format {
	type rng struct {
		typ, sub string
		q        float64
		pos      int
	}
	var ranges []rng
	for i, part := range strings.Split(accept, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(s, 64); err != nil {
				continue
			}
		}
		ranges = append(ranges, rng{typ, sub, q, i})
	}
	offers := []struct {
		f        format
		typ, sub string
	}{{formatText, "text", "plain"}, {formatHTML, "text", "html"}, {formatJSON, "application", "json"}}
	best, bestQ, bestPos := formatText, 0.0, 0
	for _, o := range offers {
		spec, q, pos := -1, 0.0, 0
		for _, r := range ranges {
			s := -1
			switch {
			case r.typ == o.typ && r.sub == o.sub:
				s = 2
			case r.typ == o.typ && r.sub == "*":
				s = 1
			case r.typ == "*" && r.sub == "*":
				s = 0
			}
			if s > spec {
				spec, q, pos = s, r.q, r.pos
			}
		}
		if spec < 0 || q <= 0 {
			continue
		}
		if q > bestQ || q == bestQ && pos < bestPos {
			best, bestQ, bestPos = o.f, q, pos
		}
	}
	return best
}

// language picks the page's language from an Accept-Language header: the
// preferred language among those there are catalogues for (so "zh-CN"
// and "fr, zh;q=0.5" give Chinese, "en-GB, zh;q=0.8" English), else
// fallback.
func language(acceptLanguage string, fallback catalog.Lang) catalog.Lang {
	type tag struct {
		lang catalog.Lang
		q    float64
	}
	var tags []tag
	for _, part := range strings.Split(acceptLanguage, ",") {
		name, params, _ := strings.Cut(part, ";")
		l, err := catalog.ParseLang(name)
		if err != nil {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			if q, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
				continue
			}
		}
		if q > 0 {
			tags = append(tags, tag{l, q})
		}
	}
	sort.SliceStable(tags, func(i, j int) bool { return tags[i].q > tags[j].q })
	if len(tags) > 0 {
		return tags[0].lang
	}
	if fallback == "" {
		return catalog.English
	}
	return fallback
}
