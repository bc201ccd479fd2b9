package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// describeJSONError turns an encoding/json error from decoding data into v
// into a message an operator can act on: the key by its full path and, for
// syntax errors, the byte offset.
func describeJSONError(err error, data []byte, v any) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		return fmt.Sprintf("key %q: want a %s, got a JSON %s", typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.EOF):
		return "empty file, want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON: unexpected end of file"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		if key, err := strconv.Unquote(f); err == nil {
			f = strconv.Quote(unknownKeyPath(data, reflect.TypeOf(v), key))
		}
		return fmt.Sprintf("unknown key %s (a typo here could deploy unverified bits)", f)
	}
	return "invalid JSON: " + msg
}

// checkDuplicateKeys refuses an object with the same key twice at any
// level: encoding/json silently keeps the last one, which can hide an edit.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walkJSON(dec, ""); err != nil && !errors.Is(err, errSyntax) {
		return err
	}
	return nil // syntax errors are reported by the real decode
}

// errSyntax stops the walk at the first token that does not parse: the
// decoder's More keeps answering true in front of a bad byte, so carrying
// on would loop forever (found by FuzzParseDesired on "[<").
var errSyntax = errors.New("syntax error")

func walkJSON(dec *json.Decoder, where string) error {
	tok, err := dec.Token()
	if err != nil {
		return errSyntax
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return errSyntax
			}
			k, _ := kt.(string)
			key := keyPath(where, k)
			if seen[k] {
				return fmt.Errorf("key %q appears twice", key)
			}
			seen[k] = true
			if err := walkJSON(dec, key); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := walkJSON(dec, where); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // closing delimiter
		return errSyntax
	}
	return nil
}

// keyPath names key k of the object at path where, as messages show it:
// "bin.sha256".
func keyPath(where, k string) string { return strings.TrimPrefix(where+"."+k, ".") }

// unknownKeyPath returns the full path ("bin.sha265") of the first key
// named key in data that the struct decoded there has no field for, or key
// itself if there is none. encoding/json names the key alone, which in
// "bin" or "cfg" does not say which.
func unknownKeyPath(data []byte, t reflect.Type, key string) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if path, _ := findUnknownKey(dec, t, key, ""); path != "" {
		return path
	}
	return key
}

// findUnknownKey reads one value from dec, decoded into type t (nil:
// anything goes), and returns the path of key if t has no field for it
// there. Like walkJSON it stops at the first bad token, with errSyntax.
func findUnknownKey(dec *json.Decoder, t reflect.Type, key, where string) (string, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return "", errSyntax
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return "", nil
	}
	for dec.More() {
		path, ft := where, elemType(t)
		if delim == '{' {
			kt, err := dec.Token()
			if err != nil {
				return "", errSyntax
			}
			k, _ := kt.(string)
			path = keyPath(where, k)
			var known bool
			if ft, known = fieldType(t, k); !known && k == key {
				return path, nil
			}
		}
		if p, err := findUnknownKey(dec, ft, key, path); p != "" || err != nil {
			return p, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return "", errSyntax
	}
	return "", nil
}

// fieldType returns the type of the field of struct t that key k decodes
// into, matched as encoding/json does (case-insensitively), and whether
// there is one. Any key is known to a t that is not a struct. Fields of
// embedded structs are not looked into: no type decoded here has one.
func fieldType(t reflect.Type, k string) (reflect.Type, bool) {
	if t == nil || t.Kind() != reflect.Struct {
		return elemType(t), true
	}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if f.IsExported() && name != "-" && strings.EqualFold(name, k) {
			return f.Type, true
		}
	}
	return nil, false
}

// elemType is the type of the values of a map, slice or array t; nil
// otherwise.
func elemType(t reflect.Type) reflect.Type {
	if t != nil && (t.Kind() == reflect.Map || t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return t.Elem()
	}
	return nil
}
