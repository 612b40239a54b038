package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/cdnctl/cdnctl/localedge/edgerules"
)

// ServeEdgeRule is one entry of serve.edge_rules (see package edgerules
// and docs/localedge.md "Edge rules"), with the line it starts on in the
// configuration file.
type ServeEdgeRule struct {
	edgerules.Spec `yaml:",inline"`
	// Line is where the rule starts in the file (0 when not read from one).
	Line int `yaml:"-" json:"-"`
}

// UnmarshalYAML decodes a rule strictly and records its line, so that a
// rule's errors can name it.
func (r *ServeEdgeRule) UnmarshalYAML(node ast.Node) error {
	if tk := node.GetToken(); tk != nil {
		r.Line = tk.Position.Line
	}
	return yaml.NodeToValue(node, &r.Spec, yaml.DisallowUnknownField())
}

// compileEdgeRules checks serve.edge_rules; each error names the rule's
// index, key and line.
func compileEdgeRules(rules []ServeEdgeRule) (*edgerules.Rules, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	specs := make([]edgerules.Spec, len(rules))
	for i, r := range rules {
		specs[i] = r.Spec
	}
	rs, err := edgerules.Compile(specs)
	if err == nil {
		return rs, nil
	}
	var msgs []string
	for _, e := range flattenErrors(err) {
		var re *edgerules.Error
		if errors.As(e, &re) && re.Index < len(rules) {
			where := ""
			if l := rules[re.Index].Line; l > 0 {
				where = fmt.Sprintf(" (line %d)", l)
			}
			msgs = append(msgs, fmt.Sprintf("serve.edge_rules%s%s", re.Error(), where))
			continue
		}
		msgs = append(msgs, "serve.edge_rules: "+e.Error())
	}
	return nil, usageErrorf("%s", strings.Join(msgs, "\n"))
}

// flattenErrors lists the errors an errors.Join joined.
func flattenErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
