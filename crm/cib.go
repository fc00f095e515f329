package crm

import "fmt"

// ParseConstraints reads the rsc_location and the two-resource
// rsc_colocation constraints from the output of `cibadmin --query --scope
// constraints` (or a whole CIB), parsing it once. Location constraints given
// by rules keep Node empty and HasRule set; those over resource sets or
// patterns name the set or pattern as Resource. Colocations of sets are
// skipped.
func ParseConstraints(data []byte) ([]LocationConstraint, []Colocation, error) {
	root, err := parseDOM(data)
	if err != nil {
		return nil, nil, fmt.Errorf("cib constraints: %w", err)
	}
	cons, err := sectionOf(root, "constraints")
	if err != nil {
		return nil, nil, err
	}
	return locations(cons), colocations(cons), nil
}

func locations(cons *element) []LocationConstraint {
	out := []LocationConstraint{}
	cons.each("rsc_location", func(e *element) {
		lc := LocationConstraint{ID: e.str("id"), Resource: e.str("rsc"), Node: e.str("node")}
		if lc.Resource == "" {
			lc.Resource = e.str("rsc-pattern")
		}
		if lc.Resource == "" {
			if set := e.child("resource_set"); set != nil {
				lc.Resource = set.str("id")
			}
		}
		if r, ok := e.attr("role"); ok {
			lc.Role = NormaliseRole(r)
		}
		if rule := e.child("rule"); rule != nil {
			lc.HasRule = true
			v, _ := ParseScore(rule.str("score"))
			lc.Score = Score(v)
			if lc.Role == "" {
				if r, ok := rule.attr("role"); ok {
					lc.Role = NormaliseRole(r)
				}
			}
		} else {
			v, _ := ParseScore(e.str("score"))
			lc.Score = Score(v)
		}
		out = append(out, lc)
	})
	return out
}

// Colocation is an rsc_colocation between two resources (sets are skipped).
type Colocation struct {
	ID       string `json:"id"`
	Resource string `json:"resource"`
	WithRsc  string `json:"with_resource"`
	Role     Role   `json:"role,omitempty"`
	WithRole Role   `json:"with_role,omitempty"`
	Score    Score  `json:"score"`
}

func colocations(cons *element) []Colocation {
	out := []Colocation{}
	cons.each("rsc_colocation", func(e *element) {
		if e.str("rsc") == "" || e.str("with-rsc") == "" {
			return
		}
		c := Colocation{ID: e.str("id"), Resource: e.str("rsc"), WithRsc: e.str("with-rsc")}
		if r, ok := e.attr("rsc-role"); ok {
			c.Role = NormaliseRole(r)
		}
		if r, ok := e.attr("with-rsc-role"); ok {
			c.WithRole = NormaliseRole(r)
		}
		v, _ := ParseScore(e.str("score"))
		c.Score = Score(v)
		out = append(out, c)
	})
	return out
}

// ParseCIBNodes reads the permanent node attributes from the output of
// `cibadmin --query --scope nodes` (or a whole CIB), keyed by node name. The
// pgsql agent keeps <rsc>-data-status there, and crm_mon does not show the
// attributes of offline nodes.
func ParseCIBNodes(data []byte) (map[string][]Attribute, error) {
	root, err := parseDOM(data)
	if err != nil {
		return nil, fmt.Errorf("cib nodes: %w", err)
	}
	nodes, err := sectionOf(root, "nodes")
	if err != nil {
		return nil, err
	}
	return cibNodes(nodes), nil
}

func cibNodes(nodes *element) map[string][]Attribute {
	out := map[string][]Attribute{}
	nodes.each("node", func(n *element) {
		name := n.str("uname")
		if name == "" {
			name = n.str("id")
		}
		attrs := []Attribute{}
		n.each("instance_attributes", func(ia *element) {
			ia.each("nvpair", func(nv *element) {
				attrs = append(attrs, Attribute{Name: nv.str("name"), Value: nv.str("value")})
			})
		})
		out[name] = attrs
	})
	return out
}

// ParseClusterName reads the cluster's name, the `cluster-name` cluster
// property, from the output of `cibadmin --query --scope crm_config` (or a
// whole CIB). It is "" when the property is not set (clusters not created by
// pcs or crmsh may have none).
func ParseClusterName(data []byte) (string, error) {
	root, err := parseDOM(data)
	if err != nil {
		return "", fmt.Errorf("cib crm_config: %w", err)
	}
	cfg, err := sectionOf(root, "crm_config")
	if err != nil {
		return "", err
	}
	return clusterName(cfg), nil
}

func clusterName(cfg *element) string {
	name := ""
	cfg.each("cluster_property_set", func(set *element) {
		set.each("nvpair", func(nv *element) {
			if name == "" && nv.str("name") == "cluster-name" {
				name = nv.str("value")
			}
		})
	})
	return name
}

// cibSections is what a snapshot takes from the CIB.
type cibSections struct {
	locations   []LocationConstraint
	colocations []Colocation
	nodes       map[string][]Attribute
	clusterName string
}

// parseCIB reads constraints, permanent node attributes and the cluster
// name from the outputs of the three cibadmin queries, or from one whole CIB
// given three times (parsed once).
func parseCIB(consXML, nodesXML, configXML []byte) (cibSections, error) {
	roots := map[string]*element{}
	parse := func(data []byte, what string) (*element, error) {
		if r, ok := roots[string(data)]; ok {
			return r, nil
		}
		r, err := parseDOM(data)
		if err != nil {
			return nil, fmt.Errorf("cib %s: %w", what, err)
		}
		roots[string(data)] = r
		return r, nil
	}
	var out cibSections
	for _, q := range []struct {
		data []byte
		name string
		fill func(*element)
	}{
		{consXML, "constraints", func(e *element) { out.locations, out.colocations = locations(e), colocations(e) }},
		{nodesXML, "nodes", func(e *element) { out.nodes = cibNodes(e) }},
		{configXML, "crm_config", func(e *element) { out.clusterName = clusterName(e) }},
	} {
		root, err := parse(q.data, q.name)
		if err != nil {
			return cibSections{}, err
		}
		sec, err := sectionOf(root, q.name)
		if err != nil {
			return cibSections{}, err
		}
		q.fill(sec)
	}
	return out, nil
}

// sectionOf returns the named section of a cibadmin --scope output or of a
// whole CIB.
func sectionOf(root *element, name string) (*element, error) {
	if root.name == name {
		return root, nil
	}
	if e := find(root, name); e != nil {
		return e, nil
	}
	return nil, fmt.Errorf("cib %s: no <%s> element under <%s>", name, name, root.name)
}

// find returns the first element with the given name, depth first.
func find(e *element, name string) *element {
	for _, c := range e.children {
		if c.name == name {
			return c
		}
		if f := find(c, name); f != nil {
			return f
		}
	}
	return nil
}
