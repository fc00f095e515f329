package crm

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// element is a minimal DOM: crm_mon's layout varies by version, so sections
// are found by name wherever they are, and every attribute is optional.
type element struct {
	name     string
	attrs    []xml.Attr
	children []*element
}

func (e *element) attr(name string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func (e *element) str(name string) string {
	v, _ := e.attr(name)
	return v
}

func (e *element) child(name string) *element {
	for _, c := range e.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (e *element) each(name string, f func(*element)) {
	for _, c := range e.children {
		if c.name == name {
			f(c)
		}
	}
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 64

// parseDOM reads one XML document into an element tree. Character data is
// kept only for elements that are known to carry text (error messages).
func parseDOM(data []byte) (*element, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var root *element
	var stack []*element
	var text bytes.Buffer
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("xml: nesting deeper than %d", maxDepth)
			}
			e := &element{name: t.Name.Local, attrs: append([]xml.Attr(nil), t.Attr...)}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("xml: more than one root element")
				}
				root = e
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, e)
			}
			stack = append(stack, e)
			text.Reset()
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1].name != t.Name.Local {
				return nil, fmt.Errorf("xml: unexpected </%s>", t.Name.Local)
			}
			top := stack[len(stack)-1]
			if top.name == "error" && len(top.children) == 0 {
				top.attrs = append(top.attrs, xml.Attr{Name: xml.Name{Local: "#text"}, Value: string(bytes.TrimSpace(text.Bytes()))})
			}
			stack = stack[:len(stack)-1]
			text.Reset()
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1].name == "error" {
				text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("xml: no root element")
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("xml: unclosed <%s>", stack[len(stack)-1].name)
	}
	return root, nil
}
