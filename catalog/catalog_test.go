package catalog

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCatalogues: both languages have exactly the same message ids, the
// same placeholders in each, and every text is filled in.
func TestCatalogues(t *testing.T) {
	en, err := Keys(English)
	if err != nil {
		t.Fatal(err)
	}
	zh, err := Keys(Chinese)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range en {
		if !slices.Contains(zh, k) {
			t.Errorf("%s is in English but not in Chinese", k)
		}
	}
	for _, k := range zh {
		if !slices.Contains(en, k) {
			t.Errorf("%s is in Chinese but not in English", k)
		}
	}
	ph := regexp.MustCompile(`\{\{\s*\.(\w+)`)
	names := func(s string) []string {
		var out []string
		for _, m := range ph.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
		slices.Sort(out)
		return out
	}
	for _, k := range en {
		e, z := raw[English][k], raw[Chinese][k]
		if e == nil || z == nil {
			continue
		}
		if strings.TrimSpace(e.Other) == "" || strings.TrimSpace(z.Other) == "" {
			t.Errorf("%s: an empty text", k)
		}
		ea, za := names(e.One+" "+e.Other), names(z.One+" "+z.Other)
		if !slices.Equal(ea, za) {
			t.Errorf("%s: English fills in %v, Chinese %v", k, ea, za)
		}
	}
}

// TestEveryKeyIsUsedAndEveryUseExists reads till's Go sources (tests
// aside): every id passed to T or N is in the catalogues, and every
// catalogue id is spelled somewhere in the code, so neither side keeps
// words the other has lost.
func TestEveryKeyIsUsedAndEveryUseExists(t *testing.T) {
	en, err := Keys(English)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	asked := map[string]token.Position{}
	fset := token.NewFileSet()
	root := ".."
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					if s, err := strconv.Unquote(n.Value); err == nil {
						used[s] = true
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "T" && sel.Sel.Name != "N") || len(n.Args) == 0 {
					break
				}
				if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					asked[s] = fset.Position(lit.Pos())
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, pos := range asked {
		if !slices.Contains(en, id) {
			t.Errorf("%s: %s is not in the catalogues", pos, id)
		}
	}
	for _, id := range en {
		if !used[id] {
			t.Errorf("%s is in the catalogues but no code uses it", id)
		}
	}
}

func TestFromEnv(t *testing.T) {
	for env, want := range map[string]Lang{
		"LANG=zh_CN.UTF-8":                Chinese,
		"LANG=en_US.UTF-8":                English,
		"LANG=C":                          English,
		"":                                English,
		"LC_ALL=zh_TW.UTF-8 LANG=en_US":   Chinese,
		"LC_ALL=en_GB.UTF-8 LANG=zh_CN":   English,
		"LC_MESSAGES=zh_CN.UTF-8 LANG=en": Chinese,
	} {
		vars := map[string]string{}
		for _, kv := range strings.Fields(env) {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		if got := FromEnv(func(k string) string { return vars[k] }); got != want {
			t.Errorf("%q: %s, want %s", env, got, want)
		}
	}
	for in, want := range map[string]Lang{"zh": Chinese, "zh-CN": Chinese, "en": English, "EN": English} {
		if got, err := ParseLang(in); err != nil || got != want {
			t.Errorf("ParseLang(%q) = %s, %v", in, got, err)
		}
	}
	if _, err := ParseLang("fr"); err == nil {
		t.Error("fr accepted")
	}
}

func TestFormats(t *testing.T) {
	zh, en := New(Chinese), New(English)
	day := mustDay(t)
	if got := zh.Date(day); got != "2026年12月1日 周二" {
		t.Errorf("zh date %q", got)
	}
	if got := en.Date(day); got != "Tue 1 Dec 2026" {
		t.Errorf("en date %q", got)
	}
	if got := en.Money(123450); got != "¥1,234.50" {
		t.Errorf("money %q", got)
	}
}
