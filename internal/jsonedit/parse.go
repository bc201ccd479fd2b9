package jsonedit

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrInvalid: the text is not valid JSON, or an object repeats a key.
var ErrInvalid = errors.New("invalid JSON")

// node is a value of the text and its span [start, end).
type node struct {
	start, end int
	object     bool
	members    []member // in the text's order, objects only
}

// member is one key of an object: the span of its quoted key, and its value.
type member struct {
	key        string
	keyStart   int
	keyEnd     int
	value      *node
	commaAfter int // the offset of the comma after the value; -1 for the last member
}

// parser walks a text that json.Valid accepted.
type parser struct {
	data []byte
	pos  int
}

// parse returns the tree of the JSON text data.
func parse(data []byte) (*node, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	p := &parser{data: data}
	p.space()
	return p.value()
}

func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (*node, error) {
	n := &node{start: p.pos}
	switch c := p.data[p.pos]; {
	case c == '{':
		n.object = true
		if err := p.object(n); err != nil {
			return nil, err
		}
	case c == '[':
		if err := p.array(); err != nil {
			return nil, err
		}
	case c == '"':
		p.str()
	default: // number, true, false, null
		for p.pos < len(p.data) && !isDelim(p.data[p.pos]) {
			p.pos++
		}
	}
	n.end = p.pos
	return n, nil
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r', ':':
		return true
	}
	return false
}

// str moves past a string; pos is at its opening quote.
func (p *parser) str() {
	p.pos++
	for p.data[p.pos] != '"' {
		if p.data[p.pos] == '\\' {
			p.pos++
		}
		p.pos++
	}
	p.pos++
}

func (p *parser) object(n *node) error {
	p.pos++ // {
	p.space()
	if p.data[p.pos] == '}' {
		p.pos++
		return nil
	}
	for {
		m := member{keyStart: p.pos, commaAfter: -1}
		p.str()
		m.keyEnd = p.pos
		if err := json.Unmarshal(p.data[m.keyStart:m.keyEnd], &m.key); err != nil {
			return fmt.Errorf("%w: key at byte %d: %v", ErrInvalid, m.keyStart, err)
		}
		for _, prev := range n.members {
			if prev.key == m.key {
				return fmt.Errorf("%w: key %q given twice in the object at byte %d", ErrInvalid, m.key, n.start)
			}
		}
		p.space()
		p.pos++ // :
		p.space()
		v, err := p.value()
		if err != nil {
			return err
		}
		m.value = v
		p.space()
		if p.data[p.pos] == '}' {
			n.members = append(n.members, m)
			p.pos++
			return nil
		}
		m.commaAfter = p.pos
		n.members = append(n.members, m)
		p.pos++ // ,
		p.space()
	}
}

func (p *parser) array() error {
	p.pos++ // [
	p.space()
	if p.data[p.pos] == ']' {
		p.pos++
		return nil
	}
	for {
		if _, err := p.value(); err != nil {
			return err
		}
		p.space()
		if p.data[p.pos] == ']' {
			p.pos++
			return nil
		}
		p.pos++ // ,
		p.space()
	}
}

// find returns the member at path below n, and its object; m is nil when
// the last key is missing from an object that exists.
func (n *node) find(path []string) (obj *node, m *member, err error) {
	obj = n
	for i, key := range path {
		if !obj.object {
			return nil, nil, fmt.Errorf("%q is not an object", join(path[:i]))
		}
		m = nil
		for j := range obj.members {
			if obj.members[j].key == key {
				m = &obj.members[j]
			}
		}
		if i == len(path)-1 {
			return obj, m, nil
		}
		if m == nil {
			return nil, nil, fmt.Errorf("%q: no such key", join(path[:i+1]))
		}
		obj = m.value
	}
	return nil, nil, errors.New("empty path")
}

func join(path []string) string {
	s := ""
	for i, k := range path {
		if i > 0 {
			s += "."
		}
		s += k
	}
	return s
}
