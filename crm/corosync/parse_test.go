package corosync

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseFixtures parses every fixture file and compares the result with
// its golden JSON in testdata/ (go test -update rewrites them).
func TestParseFixtures(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f.rel, func(t *testing.T) {
			got := parseFixture(f)
			want := readGolden(t, f.rel, got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseWhitespaceTolerant re-parses every fixture after changing its
// whitespace the ways copies and other versions do: tabs as spaces, extra
// indentation, trailing blanks, CRLF, doubled blank lines.
func TestParseWhitespaceTolerant(t *testing.T) {
	blankRun := regexp.MustCompile(`\n\n`)
	variants := map[string]func(string) string{
		"tabs-as-spaces": func(s string) string { return strings.ReplaceAll(s, "\t", "    ") },
		"indented":       func(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") },
		"trailing":       func(s string) string { return strings.ReplaceAll(s, "\n", " \t\n") },
		"crlf":           func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") },
		"blank-lines":    func(s string) string { return blankRun.ReplaceAllString(s, "\n\n\n") },
	}
	for _, f := range fixtures(t) {
		want := parseFixture(f)
		for name, change := range variants {
			g := f
			g.input = []byte(change(string(f.input)))
			got := parseFixture(g)
			if want.Error != "" || got.Error != "" {
				if want.Reason != got.Reason {
					t.Errorf("%s (%s): reason %q, want %q", f.rel, name, got.Reason, want.Reason)
				}
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (%s): mismatch (-want +got):\n%s", f.rel, name, diff)
			}
		}
	}
}

func readFixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The golden files are generated; these cases state the expected values by
// hand for the shapes that matter most.

func TestParseCfgtoolShapes(t *testing.T) {
	u := func(v uint32) *uint32 { return &v }
	yes, no := new(true), new(false)
	tests := []struct {
		file string
		want *Rings
	}{
		{"corosync-cfgtool/corosync-2.x_rrp_cfgtool-s_ring0-FAULTY_hand-made.txt", &Rings{
			Format: FormatRing, LocalNodeID: u(16777226),
			Rings: []Ring{
				{ID: 0, Address: "10.0.0.1", Status: "Marking ringid 0 interface 10.0.0.1 FAULTY", Faulty: true},
				{ID: 1, Address: "172.16.0.1", Status: "ring 1 active with no faults"},
			},
		}},
		{"corosync-cfgtool/corosync-3.0.0_knet_cfgtool-s_2links_node-index-format.txt", &Rings{
			Format: FormatLink, LocalNodeID: u(1), Transport: "knet",
			Links: []Link{
				{ID: 0, Address: "192.168.106.185", Nodes: []LinkNode{
					{Index: new(0), Enabled: yes, Connected: yes, State: "link enabled:1 link connected:1"},
					{Index: new(1), Enabled: yes, Connected: yes, State: "link enabled:1 link connected:1"},
				}},
				{ID: 1, Address: "192.168.107.185", Nodes: []LinkNode{
					{Index: new(0), Enabled: no, Connected: yes, State: "link enabled:0 link connected:1"},
					{Index: new(1), Enabled: yes, Connected: yes, State: "link enabled:1 link connected:1"},
				}},
			},
		}},
		{"corosync-cfgtool/corosync-3.0.3_knet_cfgtool-s_2links_peer-disconnected.txt", &Rings{
			Format: FormatLink, LocalNodeID: u(1), Transport: "knet",
			Links: []Link{
				{ID: 0, Address: "192.168.106.155", Nodes: []LinkNode{
					{NodeID: u(1), Local: true, Enabled: yes, Connected: yes, State: "link enabled:1 link connected:1"},
					{NodeID: u(2), Enabled: yes, Connected: no, State: "link enabled:1 link connected:0"},
				}},
				{ID: 1, Address: "192.168.107.155", Nodes: []LinkNode{
					{NodeID: u(1), Local: true, Enabled: no, Connected: yes, State: "link enabled:0 link connected:1"},
					{NodeID: u(2), Enabled: yes, Connected: no, State: "link enabled:1 link connected:0"},
				}},
			},
		}},
		{"corosync-cfgtool/corosync-3.1.4plus-dev_knet_cfgtool-s_localhost-disconnected.txt", &Rings{
			Format: FormatLink, LocalNodeID: u(5), Transport: "knet",
			Links: []Link{{ID: 0, Transport: "udp", Address: "192.168.63.45", Nodes: []LinkNode{
				{NodeID: u(5), Local: true, Connected: yes, State: "localhost"},
				{NodeID: u(6), Connected: no, State: "disconnected"},
			}}},
		}},
		{"corosync-cfgtool/corosync-3.1.4plus-dev_knet_cfgtool-bs_brief-buggy.txt", &Rings{
			Format: FormatBrief, LocalNodeID: u(7), Transport: "knet",
			Links: []Link{{ID: 0, Transport: "udp", Address: "192.168.63.45", Brief: "13", Nodes: []LinkNode{
				{Index: new(0), Enabled: yes, Connected: no, State: "1"},
				{Index: new(1), Enabled: yes, Connected: yes, State: "3"},
			}}},
		}},
		{liveSet + "/01-healthy/pgdb2/corosync-cfgtool-n.txt", &Rings{
			Format: FormatNodes, LocalNodeID: u(2), Transport: "knet",
			Links: []Link{{ID: 0, Transport: "udp", Address: "10.77.0.12", Nodes: []LinkNode{
				{NodeID: u(1), Enabled: yes, Connected: yes, Dynconnected: no, State: "enabled connected", RemoteAddress: "10.77.0.11", MTU: new(1446)},
				{NodeID: u(3), Enabled: yes, Connected: yes, Dynconnected: no, State: "enabled connected", RemoteAddress: "10.77.0.13", MTU: new(1446)},
			}}},
		}},
	}
	for _, tt := range tests {
		got, err := ParseCfgtool(readFixture(t, tt.file))
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.file, diff)
		}
	}
}

// TestParseCfgtoolVariants covers the 3.0.4-3.1.0 text states, for which no
// recorded output exists, with the strings of the corosync source.
func TestParseCfgtoolVariants(t *testing.T) {
	in := "Printing link status.\nLocal node ID 1\nLINK ID 0\n\taddr\t= 10.0.0.1\n\tstatus:\n" +
		"\t\tnodeid  1:\tlocalhost\n\t\tnodeid  2:\tconnected\n\t\tnodeid  3:\tdisconnected (not enabled)\n" +
		"\t\tnodeid  4:\tknet error\n\t\tnodeid  5:\tconfig error\n"
	got, err := ParseCfgtool([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	u := func(v uint32) *uint32 { return &v }
	want := []LinkNode{
		{NodeID: u(1), Local: true, Connected: new(true), State: "localhost"},
		{NodeID: u(2), Enabled: new(true), Connected: new(true), State: "connected"},
		{NodeID: u(3), Enabled: new(false), Connected: new(false), State: "disconnected (not enabled)"},
		{NodeID: u(4), State: "knet error"},
		{NodeID: u(5), State: "config error"},
	}
	if diff := cmp.Diff(want, got.Links[0].Nodes); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestParseQuorumtoolShapes(t *testing.T) {
	u := func(v uint32) *uint32 { return &v }
	got, err := ParseQuorumtool(readFixture(t, "corosync-quorumtool/corosync-2.4-sle_quorumtool_qdevice_hand-edited.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Quorum{
		Provider: "corosync_votequorum", Quorate: new(true), NodeID: u(1084783375), Nodes: new(2),
		RingID: "1084783375/40", ExpectedVotes: new(2), HighestExpected: new(2), TotalVotes: new(2),
		Quorum: new(1), ActivityBlocked: new(false), Flags: []string{"2Node", "Quorate"},
		Members: []Member{
			{NodeID: 1084783375, Votes: new(1), Name: "stefanotorresi-hana01", Local: true, Qdevice: &QdeviceState{Raw: "NR"}},
			{NodeID: 1084783376, Votes: new(1), Name: "stefanotorresi-hana02", Qdevice: &QdeviceState{
				Raw: "A,V,NMW", Registered: true, Alive: new(true), CastVote: new(true), MasterWins: new(false)}},
		},
		Qdevice: &Qdevice{Name: "Qdevice", Votes: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}

	got, err = ParseQuorumtool(readFixture(t, "corosync-quorumtool/corosync-2.3_rhel7.0_quorumtool-p-s_inquorate.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if *got.Quorate || !*got.ActivityBlocked || got.Flags == nil || len(got.Flags) != 0 || *got.Quorum != 2 {
		t.Errorf("inquorate: got quorate %v, blocked %v, flags %#v, quorum %d", *got.Quorate, *got.ActivityBlocked, got.Flags, *got.Quorum)
	}

	got, err = ParseQuorumtool(readFixture(t, "corosync-quorumtool/corosync-3.x-proxmox_pvecm-status_hex-ids_4nodes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if *got.NodeID != 1 || got.RingID != "1.1a8" || len(got.Members) != 4 || !got.Members[1].Local || got.Members[3].NodeID != 4 {
		t.Errorf("hex ids: got node %d, ring %q, members %+v", *got.NodeID, got.RingID, got.Members)
	}

	// -l prints only the membership: quorum fields stay unknown.
	got, err = ParseQuorumtool(readFixture(t, liveSet+"/01-healthy/pgdb2/corosync-quorumtool-l.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Quorate != nil || got.Flags != nil || len(got.Members) != 3 || got.Members[0].Qdevice != nil {
		t.Errorf("-l: got %+v", got)
	}

	// A qdevice that does not vote shows 0 and its configured votes.
	in := "Membership information\n----------------------\n    Nodeid      Votes    Qdevice Name\n" +
		"         1          1    A,NV,NMW node1 [extra] (local)\n         0          0            Qdevice (votes 1)\n"
	got, err = ParseQuorumtool([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if m := got.Members[0]; m.Name != "node1" || m.QdeviceInfo != "extra" || !m.Local || *m.Qdevice.CastVote {
		t.Errorf("member: got %+v", m)
	}
	if diff := cmp.Diff(&Qdevice{Name: "Qdevice", Votes: 0, ConfiguredVotes: new(1)}, got.Qdevice); diff != "" {
		t.Errorf("qdevice mismatch (-want +got):\n%s", diff)
	}
}

func TestParseCmanShapes(t *testing.T) {
	in := readFixture(t, "cman/cman_tool-status_plus-nodes-F_rhel6.6_inquorate.txt")
	st, err := ParseCmanStatus(in)
	if err != nil {
		t.Fatal(err)
	}
	if !*st.ActivityBlocked || *st.Quorum != 2 || *st.NodeID != 1 || st.ClusterName != "cluster66" || len(st.Flags) != 0 {
		t.Errorf("status: got %+v", st)
	}
	nodes, err := ParseCmanNodes([]byte("NOTE: There are 1 disallowed nodes,\n" +
		"Node  Sts   Inc   Joined               Name\n" +
		"   1   M      4   2014-04-09 08:30:22  node1\n" +
		"   2   X      0                        node2\n" +
		"   3   d      8   2014-04-09 08:44:01  node3\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []CmanNode{
		{NodeID: 1, Name: "node1", Membership: CmanMember, Incarnation: new(4), Joined: "2014-04-09 08:30:22"},
		{NodeID: 2, Name: "node2", Membership: CmanNotMember, Incarnation: new(0)},
		{NodeID: 3, Name: "node3", Membership: CmanDisallowed, Incarnation: new(8), Joined: "2014-04-09 08:44:01"},
	}
	if diff := cmp.Diff(want, nodes); diff != "" {
		t.Errorf("table mismatch (-want +got):\n%s", diff)
	}
	nodes, err = ParseCmanNodes([]byte("1 node1 M 1 3 Member 10.0.0.1\n2 node2 X 1 3 Dead 10.0.0.2\n"),
		"id", "name", "type", "votes", "exp", "state", "addr")
	if err != nil {
		t.Fatal(err)
	}
	want = []CmanNode{
		{NodeID: 1, Name: "node1", Membership: CmanMember, State: "Member", Votes: new(1), ExpectedVotes: new(3), Addresses: []string{"10.0.0.1"}},
		{NodeID: 2, Name: "node2", Membership: CmanNotMember, State: "Dead", Votes: new(1), ExpectedVotes: new(3), Addresses: []string{"10.0.0.2"}},
	}
	if diff := cmp.Diff(want, nodes); diff != "" {
		t.Errorf("-F mismatch (-want +got):\n%s", diff)
	}
	if _, err := ParseCmanNodes([]byte("1 x"), "bogus"); !errors.Is(err, ErrParse) {
		t.Errorf("unknown field: got %v, want ErrParse", err)
	}
}

// TestParseErrors checks the typed errors of the recorded failure outputs.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		file, reason string
		parse        func([]byte) error
	}{
		{liveSet + "/errors/corosync-cfgtool.not-running.txt", "not_running", func(b []byte) error { _, err := ParseCfgtool(b); return err }},
		{liveSet + "/errors/corosync-cfgtool.permission-denied.txt", "permission_denied", func(b []byte) error { _, err := ParseCfgtool(b); return err }},
		{liveSet + "/errors/corosync-quorumtool.not-running.txt", "not_running", func(b []byte) error { _, err := ParseQuorumtool(b); return err }},
		{"corosync-cmapctl/corosync-3.1.x-el9_cmapctl-grep-members_2nodes.txt", "parse_error", func(b []byte) error { _, err := ParseCfgtool(b); return err }},
		{"corosync-cmapctl/corosync-3.1.x-el9_cmapctl-grep-members_2nodes.txt", "parse_error", func(b []byte) error { _, err := ParseQuorumtool(b); return err }},
		{"corosync-cmapctl/corosync-3.1.x-el9_cmapctl-grep-members_2nodes.txt", "parse_error", func(b []byte) error { _, err := ParseCmanStatus(b); return err }},
	}
	for _, tt := range tests {
		err := tt.parse(readFixture(t, tt.file))
		var e *Error
		if !errors.As(err, &e) || e.Reason() != tt.reason {
			t.Errorf("%s: got %v, want reason %s", tt.file, err, tt.reason)
		}
	}
	// corosync 3.0 printed its header before the error, on stdout.
	_, err := ParseCfgtool([]byte("Printing link status.\nCould not initialize corosync configuration API error 2\n"))
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("3.0 stdout error: got %v", err)
	}
	for _, in := range []string{"", "\n\n", "garbage", "RING ID x", "LINK ID", "Local node ID -1"} {
		if _, err := ParseCfgtool([]byte(in)); !errors.Is(err, ErrParse) {
			t.Errorf("ParseCfgtool(%q): got %v, want ErrParse", in, err)
		}
	}
}

func benchmarkParse(b *testing.B, rel string, parse func([]byte) error) {
	in := readFixture(b, rel)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCfgtool(b *testing.B) {
	b.Run("knet-3.1.7", func(b *testing.B) {
		benchmarkParse(b, liveSet+"/01-healthy/pgdb2/corosync-cfgtool-s.txt", func(in []byte) error { _, err := ParseCfgtool(in); return err })
	})
	b.Run("rrp-2.x", func(b *testing.B) {
		benchmarkParse(b, "corosync-cfgtool/corosync-2.x_rrp_cfgtool-s_ring0-FAULTY_hand-made.txt", func(in []byte) error { _, err := ParseCfgtool(in); return err })
	})
}

func BenchmarkParseQuorumtool(b *testing.B) {
	benchmarkParse(b, liveSet+"/01-healthy/pgdb2/corosync-quorumtool-sp.txt", func(in []byte) error { _, err := ParseQuorumtool(in); return err })
}

func BenchmarkParseCmanStatus(b *testing.B) {
	benchmarkParse(b, "cman/cman_tool-status_plus-nodes-F_rhel6.6_quorate.txt", func(in []byte) error { _, err := ParseCmanStatus(in); return err })
}

func BenchmarkParseCmanNodes(b *testing.B) {
	benchmarkParse(b, "cman/cman_tool-nodes-a_centos6_3nodes_fqdn.txt", func(in []byte) error { _, err := ParseCmanNodes(in); return err })
}
