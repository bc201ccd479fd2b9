package jsonedit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Edit is one change: set the value at Path (object keys from the top) to
// Value, encoded by encoding/json, or remove it when Delete is set.
type Edit struct {
	Path   []string
	Value  any
	Delete bool
}

// Apply makes the edits in order and returns the new text; data is not
// changed. Every byte outside the replaced values stays as it was. Setting
// a missing key adds it to its object (which must exist); deleting a
// missing key does nothing.
func Apply(data []byte, edits ...Edit) ([]byte, error) {
	out := data
	for _, e := range edits {
		var err error
		if e.Delete {
			out, err = deleteKey(out, e.Path)
		} else {
			out, err = set(out, e.Path, e.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("edit %q: %w", join(e.Path), err)
		}
	}
	return out, nil
}

// set replaces the value at path, or adds it to its object.
func set(data []byte, path []string, v any) ([]byte, error) {
	root, err := parse(data)
	if err != nil {
		return nil, err
	}
	obj, m, err := root.find(path)
	if err != nil {
		return nil, err
	}
	if m != nil {
		raw, err := encode(v, lineIndent(data, m.keyStart), indentUnit(data, root))
		if err != nil {
			return nil, err
		}
		return splice(data, m.value.start, m.value.end, raw), nil
	}
	return insert(data, root, obj, path[len(path)-1], v)
}

// insert adds key: v after the last member of obj, spaced as that member.
func insert(data []byte, root, obj *node, key string, v any) ([]byte, error) {
	k, err := encode(key, "", "")
	if err != nil {
		return nil, err
	}
	if len(obj.members) == 0 {
		raw, err := encode(v, lineIndent(data, obj.start), indentUnit(data, root))
		if err != nil {
			return nil, err
		}
		body := append(append(k, ": "...), raw...)
		return splice(data, obj.start+1, obj.end-1, body), nil
	}
	last := obj.members[len(obj.members)-1]
	// the white space before the last key, and the bytes between the key
	// and its value: the new member is laid out the same way
	before := whiteBefore(data, last.keyStart)
	sep := data[last.keyEnd:last.value.start]
	if len(before) == 0 && bytes.ContainsRune(sep, ' ') {
		before = []byte(" ") // {"a": 1} gets , "b": 2
	}
	raw, err := encode(v, lineIndent(data, last.keyStart), indentUnit(data, root))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteByte(',')
	b.Write(before)
	b.Write(k)
	b.Write(sep)
	b.Write(raw)
	return splice(data, last.value.end, last.value.end, b.Bytes()), nil
}

// whiteBefore is the white space right before offset i.
func whiteBefore(data []byte, i int) []byte {
	j := i
	for j > 0 && strings.IndexByte(" \t\r\n", data[j-1]) >= 0 {
		j--
	}
	return data[j:i]
}

// deleteKey removes the member at path, with one comma next to it.
func deleteKey(data []byte, path []string) ([]byte, error) {
	root, err := parse(data)
	if err != nil {
		return nil, err
	}
	obj, m, err := root.find(path)
	if err != nil || m == nil {
		return data, err
	}
	i := indexOf(obj, m)
	switch {
	case m.commaAfter >= 0: // not the last: up to the next key
		return splice(data, m.keyStart, obj.members[i+1].keyStart, nil), nil
	case i > 0: // the last of several: from the end of the one before
		return splice(data, obj.members[i-1].value.end, m.value.end, nil), nil
	default: // the only one
		return splice(data, m.keyStart, m.value.end, nil), nil
	}
}

func indexOf(obj *node, m *member) int {
	for i := range obj.members {
		if &obj.members[i] == m {
			return i
		}
	}
	return -1
}

// splice returns data with [start, end) replaced by with.
func splice(data []byte, start, end int, with []byte) []byte {
	out := make([]byte, 0, len(data)-(end-start)+len(with))
	out = append(out, data[:start]...)
	out = append(out, with...)
	return append(out, data[end:]...)
}

// encode writes v as JSON without HTML escaping; with a unit, indented as
// a value whose line starts with prefix.
func encode(v any, prefix, unit string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if unit != "" {
		enc.SetIndent(prefix, unit)
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// lineIndent is the white space that starts the line holding offset i.
func lineIndent(data []byte, i int) string {
	start := bytes.LastIndexByte(data[:i], '\n') + 1
	end := start
	for end < i && (data[end] == ' ' || data[end] == '\t') {
		end++
	}
	return string(data[start:end])
}

// indentUnit is one level of the text's indentation: the indentation of
// the top-level object's first member when it starts a line of its own,
// else "" (the text is compact, and new values are too).
func indentUnit(data []byte, root *node) string {
	if !root.object || len(root.members) == 0 {
		return ""
	}
	k := root.members[0].keyStart
	if !bytes.Contains(data[root.start:k], []byte("\n")) {
		return ""
	}
	return lineIndent(data, k)
}
