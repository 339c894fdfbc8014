// Package builtin wires the OT types Tandem ships into one ot.Registry.
package builtin

import (
	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/ot/json0"
	"github.com/tandemhq/tandem/ot/richtext"
	"github.com/tandemhq/tandem/ot/textunicode"
)

// Registry returns a registry with json0, text-unicode and rich-text.
func Registry() *ot.Registry {
	return ot.NewRegistry(json0.Type{}, textunicode.Type{}, richtext.Type{})
}
