package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// describeJSONError turns encoding/json errors into messages an operator can
// act on: the key and, for syntax errors, the byte offset.
func describeJSONError(err error) string {
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
			key := strings.TrimPrefix(where+"."+k, ".")
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
