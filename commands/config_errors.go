package commands

import (
	"errors"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"
)

// configMessage says what a YAML decoding error means in the words of
// docs/config.md (a number, text, a list, a section…), without the Go
// types the decoder names.
func configMessage(err error) string {
	var te *yaml.TypeError
	var ne *yaml.UnexpectedNodeTypeError
	var oe *yaml.OverflowError
	switch {
	case errors.As(err, &te):
		got := typeWords(te.SrcType)
		if k := te.SrcType; k != nil && k.Kind() != reflect.Map && k.Kind() != reflect.Slice {
			got += valueOf(te.Token.Value)
		}
		return "want " + typeWords(te.DstType) + ", got " + got
	case errors.As(err, &ne):
		got := nodeWords(ne.Actual)
		if ne.Actual != ast.MappingType && ne.Actual != ast.SequenceType {
			got += valueOf(ne.Token.Value)
		}
		return "want " + nodeWords(ne.Expected) + ", got " + got
	case errors.As(err, &oe):
		return "want " + typeWords(oe.DstType) + ": " + oe.SrcNum + " is out of range"
	}
	var ye yamlError
	if errors.As(err, &ye) {
		msg := ye.GetMessage()
		if strings.Contains(msg, "mapping value is not allowed") {
			return "a key must be followed by ': ' and its value, one key per line (a ':' inside a value needs quotes)"
		}
		return msg
	}
	return err.Error()
}

// valueOf quotes the offending value, when short enough to help.
func valueOf(v string) string {
	if v == "" || len(v) > 40 || strings.ContainsAny(v, "\n") {
		return ""
	}
	return " " + `"` + v + `"`
}

// typeWords names a Go type as docs/config.md does.
func typeWords(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	if t == durationType {
		return "a duration such as 30s or 5m"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeWords(t.Elem())
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "a list of text values"
		}
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a section of keys (key: value lines)"
	}
	return "a value"
}

// nodeWords names a YAML node type the same way.
func nodeWords(n ast.NodeType) string {
	switch n {
	case ast.NullType:
		return "nothing"
	case ast.BoolType:
		return "true or false"
	case ast.IntegerType:
		return "a whole number"
	case ast.FloatType, ast.InfinityType, ast.NanType:
		return "a number"
	case ast.StringType, ast.LiteralType:
		return "text"
	case ast.MappingType, ast.MappingKeyType, ast.MappingValueType:
		return "a section of keys (key: value lines)"
	case ast.SequenceType, ast.SequenceEntryType:
		return "a list"
	}
	return "a value"
}

// locateValue finds where a scalar value that failed to decode (a
// duration the decoder parsed itself, without a position) is written: the
// first value token equal to it, with its key. ok is false when there is
// none or the value is ambiguous.
func locateValue(data []byte, value string) (tk *token.Token, ok bool) {
	var found *token.Token
	for _, t := range lexer.Tokenize(string(data)) {
		if t.Value != value || (t.Next != nil && t.Next.Type == token.MappingValueType) {
			continue
		}
		if found != nil {
			return nil, false
		}
		found = t
	}
	return found, found != nil
}

// durationValue extracts the value from the time package's parse error
// (`time: invalid duration "soon"`).
func durationValue(err error) (string, bool) {
	msg := err.Error()
	i := strings.Index(msg, "time: ")
	if i < 0 {
		return "", false
	}
	q := strings.Index(msg[i:], `"`)
	if q < 0 {
		return "", false
	}
	v, err2 := strconv.Unquote(msg[i+q:])
	if err2 != nil {
		return "", false
	}
	return v, true
}
