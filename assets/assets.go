// Package assets holds the files till ships inside its binary: the
// commented default configuration and the message catalogues. It is a
// leaf: it imports nothing of till's.
package assets

import (
	"embed"
)

// Locales holds the message catalogues, locales/<area>.<lang>.toml: one
// file an area (the desk, the payer pages, the command line) and
// language, so that each area's words sit together.
//
//go:embed locales/*.toml
var Locales embed.FS

// ExampleConfig is the commented default config.toml, printed by
// `till config` and parsed at start so that the defaults in the binary and
// in the documentation cannot drift apart.
//
//go:embed config.example.toml
var ExampleConfig []byte
