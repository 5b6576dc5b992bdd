// Package assets holds the files till ships inside its binary: the
// commented default configuration. It is a leaf: it imports nothing of
// till's.
package assets

import _ "embed"

// ExampleConfig is the commented default config.toml, printed by
// `till config` and parsed at start so that the defaults in the binary and
// in the documentation cannot drift apart.
//
//go:embed config.example.toml
var ExampleConfig []byte
