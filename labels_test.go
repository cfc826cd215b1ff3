package usermgmt_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
)

// constantsOfType returns the values of the package's constants declared
// with the named type, read from the source so that a new constant
// cannot hide from the label tables.
func constantsOfType(t *testing.T, typ string) []string {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", nil, 0)
	require.NoError(t, err)
	var out []string
	for _, f := range pkgs["usermgmt"].Files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				v := s.(*ast.ValueSpec)
				if id, ok := v.Type.(*ast.Ident); !ok || id.Name != typ {
					continue
				}
				for _, val := range v.Values {
					lit, ok := val.(*ast.BasicLit)
					require.True(t, ok, "a %s constant that is not a literal", typ)
					s, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					out = append(out, s)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// Every event type the library declares has a label, and every label is
// of a declared type: the page reads them from GET /meta and keeps no list.
func TestEveryEventTypeHasALabel(t *testing.T) {
	var labelled []string
	for _, l := range usermgmt.EventLabels() {
		assert.NotEmpty(t, l.Label, l.Type)
		labelled = append(labelled, string(l.Type))
	}
	slices.Sort(labelled)
	consts := constantsOfType(t, "EventType")
	require.NotEmpty(t, consts)
	assert.Equal(t, consts, labelled)
	assert.NotContains(t, labelled, "session.refreshed", "Go never logs it")
}

func TestEveryMessageKindHasALabel(t *testing.T) {
	var labelled []string
	for _, l := range usermgmt.MessageKindLabels() {
		assert.NotEmpty(t, l.Label, l.Kind)
		labelled = append(labelled, string(l.Kind))
	}
	slices.Sort(labelled)
	assert.Equal(t, constantsOfType(t, "MessageKind"), labelled)
}
