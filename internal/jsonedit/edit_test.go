package jsonedit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestApply(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		edits []Edit
		want  string
	}{
		{"replace a string, tabs kept", "{\n\t\"version\":\t\"1.0\" ,\n\t\"bin\": {\"path\": \"a\"}\n}",
			[]Edit{{Path: []string{"version"}, Value: "2.0"}},
			"{\n\t\"version\":\t\"2.0\" ,\n\t\"bin\": {\"path\": \"a\"}\n}"},
		{"nested, no final newline", `{"bin":{"url":"http://a/1","sha256":"aa"},"version":"1"}`,
			[]Edit{{Path: []string{"bin", "url"}, Value: "http://a/2"}, {Path: []string{"version"}, Value: "2"}},
			`{"bin":{"url":"http://a/2","sha256":"aa"},"version":"2"}`},
		{"add after the last member, its indentation", "{\n    \"version\": \"1\",\n    \"bin\": {\"path\": \"a\"}\n}\n",
			[]Edit{{Path: []string{"cfg"}, Value: map[string]string{"path": "c"}}},
			"{\n    \"version\": \"1\",\n    \"bin\": {\"path\": \"a\"},\n    \"cfg\": {\n        \"path\": \"c\"\n    }\n}\n"},
		{"add to a one-line object", `{"a": 1}`, []Edit{{Path: []string{"b"}, Value: "<x>"}}, `{"a": 1, "b": "<x>"}`},
		{"add to an empty object", `{ }`, []Edit{{Path: []string{"b"}, Value: 2}}, `{"b": 2}`},
		{"delete the middle", "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}", []Edit{{Path: []string{"b"}, Delete: true}},
			"{\n  \"a\": 1,\n  \"c\": 3\n}"},
		{"delete the last", "{\n  \"a\": 1,\n  \"b\": 2\n}\n", []Edit{{Path: []string{"b"}, Delete: true}}, "{\n  \"a\": 1\n}\n"},
		{"delete the only", `{"a": 1}`, []Edit{{Path: []string{"a"}, Delete: true}}, `{}`},
		{"delete a missing key", `{"a": 1}`, []Edit{{Path: []string{"z"}, Delete: true}}, `{"a": 1}`},
		{"escaped keys and strings", `{"a\"b": "x\\\"y", "v": "1"}`, []Edit{{Path: []string{"v"}, Value: "2"}}, `{"a\"b": "x\\\"y", "v": "2"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Apply([]byte(tt.in), tt.edits...)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestApplyRefuses(t *testing.T) {
	for _, tt := range []struct{ name, in string }{
		{"invalid", `{"a": 1,}`},
		{"duplicate key", `{"a": 1, "a": 2}`},
		{"not an object", `[1, 2]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := Apply([]byte(tt.in), Edit{Path: []string{"a"}, Value: 3}); err == nil {
				t.Errorf("got %s, want an error", got)
			}
		})
	}
	if _, err := Apply([]byte(`{"a": 1}`), Edit{Path: []string{"a", "b"}, Value: 3}); err == nil {
		t.Error("setting a key below a number: got no error")
	}
}

// FuzzSet replaces the value of each top-level key, and of each key of an
// object one level down, of any JSON object: the result parses, holds the
// new value there and the old one everywhere else, and every byte outside
// the replaced span is the old one.
func FuzzSet(f *testing.F) {
	for _, s := range []string{
		"{\n\t\"version\": \"1.0\",\n\t\"bin\": {\"url\": \"http://a\", \"sha256\": \"ab\"}\n}",
		`{"b":{"c":[1,{"d":null}]},"a":true}`,
		"{ \"x\" : { } , \"y\":\"\\u00e9\\n\" }\n",
	} {
		f.Add([]byte(s), "new")
	}
	f.Fuzz(func(t *testing.T, data []byte, val string) {
		root, err := parse(data)
		if err != nil || !root.object || !utf8.ValidString(val) { // json writes U+FFFD for bad UTF-8
			return
		}
		for _, m := range root.members {
			checkSet(t, data, []string{m.key}, m.value, val)
			if m.value.object {
				for _, mm := range m.value.members {
					checkSet(t, data, []string{m.key, mm.key}, mm.value, val)
				}
			}
		}
	})
}

func checkSet(t *testing.T, data []byte, path []string, old *node, val string) {
	t.Helper()
	got, err := Apply(data, Edit{Path: path, Value: val})
	if err != nil {
		t.Fatalf("set %q in %q: %v", path, data, err)
	}
	raw, _ := encode(val, "", "")
	if !bytes.Equal(got[:old.start], data[:old.start]) || !bytes.Equal(got[old.start+len(raw):], data[old.end:]) ||
		!bytes.Equal(got[old.start:old.start+len(raw)], raw) {
		t.Fatalf("set %q in %q: got %q: bytes outside the value changed", path, data, got)
	}
	var before, after map[string]any
	if err := json.Unmarshal(data, &before); err != nil {
		return // a duplicate key deeper than we look; parse refused nothing we edit
	}
	if err := json.Unmarshal(got, &after); err != nil {
		t.Fatalf("set %q: result %q does not parse: %v", path, got, err)
	}
	want := before
	if len(path) == 1 {
		want[path[0]] = val
	} else {
		want[path[0]].(map[string]any)[path[1]] = val
	}
	if !reflect.DeepEqual(after, want) {
		t.Fatalf("set %q in %q: got %v, want %v", path, data, after, want)
	}
}

// FuzzInsertDelete adds a key to any JSON object and removes it again:
// the object gains exactly that key, and removing it gives back an object
// equal to the first.
func FuzzInsertDelete(f *testing.F) {
	f.Add([]byte("{\n  \"a\": 1\n}\n"), "k")
	f.Add([]byte(`{}`), "k")
	f.Add([]byte("{\"a\":{\"b\":2},\n\t\"c\" :3}"), "z")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		var before map[string]any
		if root, err := parse(data); err != nil || !root.object || json.Unmarshal(data, &before) != nil {
			return
		}
		if _, ok := before[key]; ok || !utf8.ValidString(key) {
			return
		}
		added, err := Apply(data, Edit{Path: []string{key}, Value: []int{1, 2}})
		if err != nil {
			t.Fatalf("add %q to %q: %v", key, data, err)
		}
		var after map[string]any
		if err := json.Unmarshal(added, &after); err != nil {
			t.Fatalf("add %q to %q: %q does not parse: %v", key, data, added, err)
		}
		if !reflect.DeepEqual(after[key], []any{1.0, 2.0}) || len(after) != len(before)+1 {
			t.Fatalf("add %q to %q: got %q", key, data, added)
		}
		removed, err := Apply(added, Edit{Path: []string{key}, Delete: true})
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(removed, &back); err != nil || !reflect.DeepEqual(back, before) {
			t.Fatalf("remove %q from %q: got %q (%v)", key, added, removed, err)
		}
	})
}
