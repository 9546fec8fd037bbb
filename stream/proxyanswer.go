package stream

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pushmon/pushmon/secret"
)

// Reading a proxy's answer to CONNECT: bounded, and cleaned of control
// bytes and of the credentials sent to the proxy before any of it goes
// into an error.

// readConnectAnswer reads a proxy's answer to CONNECT, at most
// MaxProxyAnswer bytes of status line and headers, and returns its status
// code and "code reason" (the reason's printable ASCII bytes; see
// reasonText).
// Header values are not kept: a tunnel needs none of them, and a 2xx
// answer has no body (RFC 9110, 9.3.6), so whatever follows is the
// tunnel's.
func readConnectAnswer(br *bufio.Reader) (code int, status string, err error) {
	budget := MaxProxyAnswer
	// line reads one line within the budget; keep appends it to dst. It
	// returns the line's size and its last fragment (valid until the
	// next read).
	line := func(dst *[]byte) (size int, last []byte, err error) {
		for {
			frag, err := br.ReadSlice('\n')
			if budget -= len(frag); budget < 0 {
				return 0, nil, fmt.Errorf("%w: more than %d bytes", ErrProxyAnswer, MaxProxyAnswer)
			}
			if dst != nil {
				*dst = append(*dst, frag...)
			}
			size, last = size+len(frag), frag
			switch err {
			case nil:
				return size, last, nil
			case bufio.ErrBufferFull:
			case io.EOF:
				return 0, nil, io.ErrUnexpectedEOF
			default:
				return 0, nil, err
			}
		}
	}
	// "HTTP/1.1 200 Connection established\r\n"
	var first []byte
	if _, _, err := line(&first); err != nil {
		return 0, "", err
	}
	proto, rest, _ := bytes.Cut(bytes.TrimRight(first, "\r\n"), []byte(" "))
	if !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(rest) < 3 || (len(rest) > 3 && rest[3] != ' ') {
		return 0, "", fmt.Errorf("%w: no HTTP/1 status line", ErrProxyAnswer)
	}
	code, err = strconv.Atoi(string(rest[:3]))
	if err != nil || code < 100 {
		return 0, "", fmt.Errorf("%w: no HTTP/1 status line", ErrProxyAnswer)
	}
	// The headers, up to the empty line.
	for {
		size, last, err := line(nil)
		if err != nil {
			return 0, "", err
		}
		if size <= 2 && len(bytes.TrimRight(last, "\r\n")) == 0 {
			return code, printable(bytes.TrimSpace(rest), MaxProxyAnswer), nil
		}
	}
}

// maxReason bounds the "code reason" of a ProxyError.
const maxReason = 68

// reasonText returns a refusal's "code reason" for a ProxyError: without
// the credentials sent to the proxy (auth, the Proxy-Authorization value)
// in any form a proxy may echo them (the header value, its base64 token,
// "user:password", the password), then cut to maxReason bytes. Scrubbing
// the whole line before the cut leaves no first part of a secret behind.
func reasonText(status string, auth secret.String) string {
	if !auth.IsZero() {
		v := auth.Reveal()
		forms := []string{v}
		if _, tok, ok := strings.Cut(v, " "); ok {
			forms = append(forms, tok)
			if cred, err := base64.StdEncoding.DecodeString(tok); err == nil {
				forms = append(forms, string(cred))
				if user, pw, ok := strings.Cut(string(cred), ":"); ok {
					if pw == "" {
						// A user name alone is a token ("http://TOKEN@proxy").
						pw = user
					}
					forms = append(forms, pw)
				}
			}
		}
		if code, reason, ok := strings.Cut(status, " "); ok && reason != "" {
			if reason = redact(reason, forms); reason == "" {
				reason = secret.Redacted + " (reason withheld: it holds a short secret)"
			}
			status = code + " " + reason
		}
	}
	if len(status) > maxReason {
		status = status[:maxReason]
	}
	return status
}

// minMarked is the shortest form of a secret that redact replaces in
// place: a shorter one turns up by chance in a reason phrase anyone can
// guess (a password "p" in "Proxy"), and a mark where it stood would spell
// it out.
const minMarked = 8

// redact replaces every occurrence of each form (as printable ASCII) in
// text; overlapping occurrences are replaced as one span, so that no byte
// of any survives. It returns "" when text holds a form shorter than
// minMarked: such text must be withheld whole.
func redact(text string, forms []string) string {
	hidden := make([]bool, len(text))
	found := false
	for _, f := range forms {
		if f = printable([]byte(f), len(f)); f == "" {
			continue
		}
		for i := 0; ; {
			j := strings.Index(text[i:], f)
			if j < 0 {
				break
			}
			if len(f) < minMarked {
				return ""
			}
			for k := i + j; k < i+j+len(f); k++ {
				hidden[k] = true
			}
			found, i = true, i+j+1
		}
	}
	if !found {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		switch {
		case !hidden[i]:
			b.WriteByte(text[i])
		case i == 0 || !hidden[i-1]:
			b.WriteString(secret.Redacted)
		}
	}
	return b.String()
}

// printable returns b's printable ASCII bytes, at most n of them.
func printable(b []byte, n int) string {
	out := make([]byte, 0, min(len(b), n))
	for _, c := range b {
		if len(out) == n {
			break
		}
		if c >= ' ' && c <= '~' {
			out = append(out, c)
		}
	}
	return string(out)
}
