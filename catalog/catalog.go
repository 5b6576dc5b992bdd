// Package catalog holds every word till shows a clerk or a customer, in
// Simplified Chinese and English, and writes money, dates and times the
// way each language does. The words live in assets/locales/*.<lang>.toml
// and are looked up by id with go-i18n; code never spells them out, so the
// two languages cannot drift apart (catalog_test checks both ways).
package catalog

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"till/assets"
	"till/checkout"
)

// Lang is a language the catalogues are written in.
type Lang string

const (
	English Lang = "en"
	Chinese Lang = "zh"
)

// Langs are the languages there are catalogues for.
var Langs = []Lang{English, Chinese}

// ParseLang reads a [ui] language setting: "en" or "zh" (also "zh-CN",
// "zh_CN.UTF-8" and the like).
func ParseLang(s string) (Lang, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "en" || strings.HasPrefix(s, "en_") || strings.HasPrefix(s, "en-"):
		return English, nil
	case s == "zh" || strings.HasPrefix(s, "zh_") || strings.HasPrefix(s, "zh-"):
		return Chinese, nil
	}
	return "", fmt.Errorf("%q is not a language till speaks: use \"zh\" or \"en\"", s)
}

// FromEnv picks the language as the locale variables do: the first of
// LC_ALL, LC_MESSAGES and LANG that is set decides; zh_* gives Chinese,
// anything else English.
func FromEnv(getenv func(string) string) Lang {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(name); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "zh") {
				return Chinese
			}
			return English
		}
	}
	return English
}

// V carries the values a message's {{.Name}} placeholders take.
type V map[string]any

var (
	loadOnce sync.Once
	bundle   *i18n.Bundle
	keys     map[Lang][]string
	raw      map[Lang]map[string]*i18n.Message // the texts as written, for the tests
	loadErr  error
)

// load parses every catalogue once. A catalogue that does not parse is a
// build fault, reported by every Printer (and by the tests).
func load() {
	bundle = i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	keys = map[Lang][]string{}
	raw = map[Lang]map[string]*i18n.Message{}
	files, err := fs.Glob(assets.Locales, "locales/*.toml")
	if err != nil {
		loadErr = err
		return
	}
	for _, f := range files {
		b, err := fs.ReadFile(assets.Locales, f)
		if err != nil {
			loadErr = err
			return
		}
		mf, err := bundle.ParseMessageFileBytes(b, path.Base(f))
		if err != nil {
			loadErr = fmt.Errorf("catalogue %s: %w", f, err)
			return
		}
		l, err := ParseLang(mf.Tag.String())
		if err != nil {
			loadErr = fmt.Errorf("catalogue %s: %w", f, err)
			return
		}
		if raw[l] == nil {
			raw[l] = map[string]*i18n.Message{}
		}
		for _, m := range mf.Messages {
			if _, dup := raw[l][m.ID]; dup {
				loadErr = fmt.Errorf("catalogue %s: %s is also in another %s file", f, m.ID, l)
				return
			}
			raw[l][m.ID] = m
			keys[l] = append(keys[l], m.ID)
		}
	}
	for l := range keys {
		sort.Strings(keys[l])
	}
}

// Keys lists the message ids of language l, sorted.
func Keys(l Lang) ([]string, error) {
	loadOnce.Do(load)
	return append([]string(nil), keys[l]...), loadErr
}

// Printer speaks one language.
type Printer struct {
	lang Lang
	loc  *i18n.Localizer
	en   *i18n.Localizer
}

// New returns the Printer of language l.
func New(l Lang) *Printer {
	loadOnce.Do(load)
	return &Printer{lang: l, loc: i18n.NewLocalizer(bundle, string(l)), en: i18n.NewLocalizer(bundle, string(English))}
}

// Lang is the printer's language.
func (p *Printer) Lang() Lang { return p.lang }

// T is the message id in the printer's language, with v filled in. A
// message missing from the catalogue (which the tests forbid) falls back
// to English and then to its id, so the screen still says something.
func (p *Printer) T(id string, v ...V) string { return p.localize(id, nil, v) }

// N is the plural message id for count n ({{.Count}} in the text).
func (p *Printer) N(id string, n int, v ...V) string { return p.localize(id, n, v) }

func (p *Printer) localize(id string, count any, v []V) string {
	data := map[string]any{}
	for _, m := range v {
		for k, x := range m {
			data[k] = x
		}
	}
	if count != nil {
		data["Count"] = count
	}
	cfg := &i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count}
	if loadErr == nil {
		if s, err := p.loc.Localize(cfg); err == nil {
			return s
		}
		if s, err := p.en.Localize(cfg); err == nil {
			return s
		}
	}
	return id
}

// Money writes an amount of fen as the language writes prices: ¥1,234.50.
func (p *Printer) Money(m checkout.Money) string { return m.Yuan() }

// Clock writes a time of day, 14:03, in t's zone (the caller passes the
// shop's).
func (p *Printer) Clock(t time.Time) string { return t.Format("15:04") }

// ClockSeconds writes 14:03:27.
func (p *Printer) ClockSeconds(t time.Time) string { return t.Format("15:04:05") }

// Date writes a calendar day: Tue 1 Dec 2026, 2026年12月1日 周二.
func (p *Printer) Date(t time.Time) string {
	if p.lang == Chinese {
		return fmt.Sprintf("%d年%d月%d日 %s", t.Year(), int(t.Month()), t.Day(), [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[t.Weekday()])
	}
	return t.Format("Mon 2 Jan 2006")
}

// Countdown writes a duration left as m:ss.
func (p *Printer) Countdown(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	secs := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", secs/60, secs%60)
}
