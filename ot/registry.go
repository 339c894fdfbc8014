package ot

import "fmt"

// Registry finds types by name or URI. Build it once at start-up; it is
// read-only afterwards and safe for concurrent use.
type Registry struct {
	byKey map[string]Type
	all   []Type
}

// NewRegistry returns a registry holding types. It panics on a duplicate
// name or URI, which is a programming error.
func NewRegistry(types ...Type) *Registry {
	r := &Registry{byKey: make(map[string]Type)}
	for _, t := range types {
		for _, k := range []string{t.Name(), t.URI()} {
			if _, dup := r.byKey[k]; dup {
				panic(fmt.Sprintf("ot: type %q registered twice", k))
			}
			r.byKey[k] = t
		}
		r.all = append(r.all, t)
	}
	return r
}

// Lookup finds a type by its name ("rich-text") or URI
// ("http://sharejs.org/types/rich-text/v1").
func (r *Registry) Lookup(nameOrURI string) (Type, bool) {
	t, ok := r.byKey[nameOrURI]
	return t, ok
}

// Types returns the registered types in registration order.
func (r *Registry) Types() []Type { return append([]Type(nil), r.all...) }
