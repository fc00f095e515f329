package corosync

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"regexp"
	"strings"

	"github.com/pgha/pgha_exporter/crm/runner"
)

// Kinds of failure, for errors.Is. An *Error wraps one of them.
var (
	ErrNotRunning       = errors.New("cluster stack is not running")
	ErrPermissionDenied = errors.New("permission denied")
	ErrMissingBinary    = errors.New("binary is missing")
	ErrParse            = errors.New("unrecognised output")
	ErrToolFailed       = errors.New("tool failed")
)

// Error is a failure of one tool. It wraps a kind (ErrNotRunning, ...) and,
// where there was one, the runner's error.
type Error struct {
	// Tool is the path (or name) of the tool.
	Tool string
	// Kind is one of the Err* kinds above.
	Kind error
	// Detail is what the tool said, e.g. its first line of stderr. When set,
	// the message shows it instead of Err.
	Detail string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Tool)
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	switch {
	case e.Detail != "":
		b.WriteString(": ")
		b.WriteString(e.Detail)
	case e.Err != nil:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the kind and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// FailureReasons are every Reason an *Error can give (the refresh failure
// counters start at 0 for each).
var FailureReasons = []string{"missing_binary", "not_running", "output_too_large", "parse_error",
	"permission_denied", "timeout", "tool_error"}

// Reason classifies the error for the refresh failure counter (one of
// FailureReasons).
func (e *Error) Reason() string {
	switch {
	case e.Kind == ErrNotRunning:
		return "not_running"
	case e.Kind == ErrPermissionDenied:
		return "permission_denied"
	case e.Kind == ErrMissingBinary:
		return "missing_binary"
	case e.Kind == ErrParse:
		return "parse_error"
	case errors.Is(e.Err, runner.ErrTimeout):
		return "timeout"
	case errors.Is(e.Err, runner.ErrOutputTooLarge):
		return "output_too_large"
	default:
		return "tool_error"
	}
}

func parseError(tool, detail string) *Error {
	return &Error{Tool: tool, Kind: ErrParse, Detail: detail}
}

// cfgAPIError matches "Could not initialize corosync configuration API error N"
// (N is a cs_error_t number in 1.x-3.1, a cs_strerror text in later tools).
var cfgAPIError = regexp.MustCompile(`Could not initiali[sz]e corosync (?:configuration|cmap) API error (.*)`)

// knownFailure recognises the messages with which the tools say that the
// stack is down or that the caller may not talk to it. Old tools print them
// on stdout, newer ones on stderr, so callers pass both. It returns nil when
// the text holds none of them.
func knownFailure(tool string, out ...[]byte) *Error {
	for _, o := range out {
		for _, line := range bytes.SplitAfter(o, []byte("\n")) {
			s := strings.TrimSpace(string(line))
			if s == "" {
				continue
			}
			if m := cfgAPIError.FindStringSubmatch(s); m != nil {
				switch code := strings.TrimSpace(m[1]); code {
				case "11", "CS_ERR_ACCESS", "Access denied":
					return &Error{Tool: tool, Kind: ErrPermissionDenied, Detail: s}
				default:
					// 2 (CS_ERR_LIBRARY) is what a stopped corosync gives.
					return &Error{Tool: tool, Kind: ErrNotRunning, Detail: s}
				}
			}
			switch {
			case strings.Contains(s, "Permission denied"), strings.Contains(s, "Operation not permitted"):
				return &Error{Tool: tool, Kind: ErrPermissionDenied, Detail: s}
			case strings.HasPrefix(s, "Cannot initiali") && strings.HasSuffix(s, "service"):
				// "Cannot initialize CMAP service" means stopped or access
				// denied alike; cfgtool, which runs first, tells them apart.
				return &Error{Tool: tool, Kind: ErrNotRunning, Detail: s + " (corosync not running, or access denied)"}
			case strings.Contains(s, "Cannot open connection to cman"), strings.Contains(s, "cman_tool: Not running"):
				return &Error{Tool: tool, Kind: ErrNotRunning, Detail: s}
			}
		}
	}
	return nil
}

// validText returns data as a string with invalid UTF-8 replaced, so that
// names and addresses are always valid label values.
func validText(data []byte) string {
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

// runError turns an error of runner.Run into an *Error.
func runError(tool string, err error) *Error {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return &Error{Tool: tool, Kind: ErrMissingBinary, Detail: rootCause(err).Error(), Err: err}
	case errors.Is(err, fs.ErrPermission):
		return &Error{Tool: tool, Kind: ErrPermissionDenied, Detail: rootCause(err).Error(), Err: err}
	default:
		return &Error{Tool: tool, Kind: ErrToolFailed, Err: err}
	}
}

// rootCause returns the innermost error of a chain ("no such file or
// directory" rather than the runner's and os/exec's wrappers).
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// firstLine returns the first non-blank line of b, trimmed and cut to a
// readable length, for error messages.
func firstLine(b []byte) string {
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if s := strings.TrimSpace(string(line)); s != "" {
			if len(s) > 200 {
				s = s[:200] + "..."
			}
			return s
		}
	}
	return ""
}

// exitDetail describes a failed run for an error message.
func exitDetail(res runner.Result) string {
	msg := firstLine(res.Stderr)
	if msg == "" {
		msg = firstLine(res.Stdout)
	}
	if msg == "" {
		return fmt.Sprintf("exit status %d", res.ExitCode)
	}
	return fmt.Sprintf("exit status %d: %s", res.ExitCode, msg)
}
