package h1

import "bytes"

// framing is what a message's fields say about its body and its connection.
type framing struct {
	length           int64 // Content-Length; -1: none
	chunked          bool  // one Transfer-Encoding field, exactly "chunked"
	close, keepAlive bool  // Connection tokens
}

// readFields reads the field lines of a head from p up to and including its empty line,
// appending them to hs, and returns them and where the body starts. It refuses what the package
// doc lists, reads the framing fields into f, and hands every field to each (which may refuse
// it). A head cut short is ErrIncomplete.
func readFields(buf []byte, p int, hs []Header, f *framing, each func(name, value []byte) error) ([]Header, int, error) {
	f.length = -1
	for {
		line, next, err := nextLine(buf, p)
		if err != nil {
			return hs, 0, err
		}
		p = next
		if len(line) == 0 {
			return hs, p, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return hs, 0, ErrObsFold
		}
		if len(hs) == MaxHeaders {
			return hs, 0, ErrTooManyHeaders
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 { // no colon, or an empty name
			return hs, 0, ErrHeaderName
		}
		name := line[:colon]
		if !isToken(name) {
			if bytes.ContainsAny(name, " \t") {
				return hs, 0, ErrSpaceBeforeColon
			}
			return hs, 0, ErrHeaderName
		}
		value := trimOWS(line[colon+1:])
		if !validValue(value) {
			return hs, 0, ErrHeaderValue
		}
		hs = append(hs, Header{Name: name, Value: value})
		switch {
		case equalFold(name, "content-length"):
			n, ok := parseLength(value)
			if !ok {
				return hs, 0, ErrContentLength
			}
			if f.length >= 0 && n != f.length {
				return hs, 0, ErrTwoLengths
			}
			f.length = n
		case equalFold(name, "transfer-encoding"):
			if f.chunked || !equalFold(value, "chunked") {
				// A second field, or a list, adds a coding after chunked: none is supported.
				return hs, 0, ErrCoding
			}
			f.chunked = true
		case equalFold(name, "connection"):
			for tok := range tokens(value) {
				f.close = f.close || equalFold(tok, "close")
				f.keepAlive = f.keepAlive || equalFold(tok, "keep-alive")
			}
		}
		if err := each(name, value); err != nil {
			return hs, 0, err
		}
	}
}
