package httpapi

import "slices"

// Patterns returns the pattern of every route h serves, for tests that
// must walk them all.
func Patterns(h *Handler) []string { return slices.Clone(h.patterns) }
