package chfront

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go/compress"
)

// Front serves ClickHouse's HTTP interface on a loopback address and runs what it is sent in
// an Engine.
type Front struct {
	engine *Engine
	ln     net.Listener
	srv    *http.Server
	served chan struct{}
}

// Start serves engine on addr: "127.0.0.1:0" for a free port, or the address of a stopped
// front to bring it back where its clients expect it.
func Start(engine *Engine, addr string) (*Front, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("chfront: listen on %s: %w", addr, err)
	}
	f := &Front{engine: engine, ln: ln, served: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/", f.handle)
	mux.HandleFunc("/ping", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "Ok.\n") })
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(f.served)
		_ = f.srv.Serve(ln)
	}()
	return f, nil
}

// Addr is the host:port the front listens on.
func (f *Front) Addr() string { return f.ln.Addr().String() }

// URL is the front's base URL, the endpoint a ClickHouse HTTP client is given.
func (f *Front) URL() string { return "http://" + f.Addr() }

// Stop closes the listener and every connection at once, as a server that goes away does.
// The engine and its data stay; Start on the same address brings the front back.
func (f *Front) Stop() {
	_ = f.srv.Close()
	<-f.served
}

// Query-string parameters that are not settings (HTTPHandler's reserved names).
var reservedParams = map[string]bool{
	"query": true, "database": true, "default_format": true, "client_protocol_version": true,
	"query_id": true, "user": true, "password": true, "quota_key": true, "compress": true,
	"decompress": true, "wait_end_of_query": true, "buffer_size": true, "stacktrace": true,
}

var (
	settingNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	insertRE       = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s`)
	setRE          = regexp.MustCompile(`(?is)^\s*SET\s`)
	trailingFormat = regexp.MustCompile(`(?is)\sFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$`)
)

// request is one statement as the HTTP interface received it.
type request struct {
	sql        string            // the statement (query parameter, or body, or both)
	data       []byte            // INSERT data sent in the body after a query parameter
	dataFormat string            // the INSERT's FORMAT when data is set
	database   string            // the database the statement runs in
	settings   map[string]string // settings from the query string
	format     string            // default output format
	revision   int               // client_protocol_version
	compress   bool              // answer in ClickHouse's compressed blocks
}

func (f *Front) handle(w http.ResponseWriter, r *http.Request) {
	queryID := r.URL.Query().Get("query_id")
	if queryID == "" {
		queryID = newQueryID()
	}
	w.Header().Set("X-ClickHouse-Query-Id", queryID)
	w.Header().Set("X-ClickHouse-Timezone", "UTC")
	if r.URL.Path != "/" {
		http.Error(w, "There is no handle "+r.URL.Path+"\n\nUse / or /ping for health checks.", http.StatusNotFound)
		return
	}
	req, err := parseRequest(r)
	if err == nil {
		var out []byte
		if out, err = f.run(req); err == nil {
			err = writeResult(w, req, out)
		}
	}
	if err != nil {
		writeException(w, r, err)
	}
}

// writeException answers with the error as ClickHouse does: the code in a header, the message
// in the body, compressed when the client asked for compressed answers.
func writeException(w http.ResponseWriter, r *http.Request, err error) {
	code, text := asException(err)
	body := []byte(text + "\n")
	if r.URL.Query().Get("compress") == "1" {
		if c, cerr := compressBlocks(body); cerr == nil {
			body = c
		}
	}
	w.Header().Set("X-ClickHouse-Exception-Code", strconv.Itoa(code))
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(httpStatus(code))
	_, _ = w.Write(body)
}

func parseRequest(r *http.Request) (*request, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, &Exception{Code: codeUnsupportedMethod, Name: "UNSUPPORTED_METHOD", Message: "the ClickHouse HTTP interface takes GET and POST, not " + r.Method}
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		return nil, notSupported("HTTP compression of the request body (Content-Encoding: " + ce + ")")
	}
	params := r.URL.Query()
	req := &request{database: "default", settings: map[string]string{}, format: "TabSeparated"}
	if db := params.Get("database"); db != "" {
		req.database = db
	}
	if f := params.Get("default_format"); f != "" {
		req.format = f
	}
	if v := params.Get("client_protocol_version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, &Exception{Code: 72, Name: "CANNOT_PARSE_NUMBER", Message: "client_protocol_version " + strconv.Quote(v) + " is not a number"}
		}
		req.revision = n
	}
	req.compress = params.Get("compress") == "1"
	if err := collectSettings(params, req.settings); err != nil {
		return nil, err
	}
	raw, err := readBody(r.Body, params.Get("decompress") == "1")
	if err != nil {
		return nil, &Exception{Code: 33, Name: "CANNOT_READ_ALL_DATA", Message: "reading the request body: " + err.Error()}
	}
	query := params.Get("query")
	switch {
	case query == "":
		req.sql = string(raw)
	case len(raw) == 0:
		req.sql = query
	case insertRE.MatchString(query) && trailingFormat.MatchString(query):
		m := trailingFormat.FindStringSubmatchIndex(query)
		req.sql, req.dataFormat, req.data = query[:m[0]], query[m[2]:m[3]], raw
	default: // the body continues the query, as ClickHouse reads them
		req.sql = query + "\n" + string(raw)
	}
	if strings.TrimSpace(req.sql) == "" {
		return nil, &Exception{Code: codeSyntaxError, Name: "SYNTAX_ERROR", Message: "Empty query"}
	}
	return req, nil
}

// readBody reads the request body, made of ClickHouse's compressed blocks when decompress=1.
func readBody(body io.Reader, compressed bool) ([]byte, error) {
	if !compressed {
		return io.ReadAll(body)
	}
	raw, err := io.ReadAll(compress.NewReader(body))
	if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil // the stream ended between blocks
	}
	return raw, err
}

func collectSettings(params url.Values, into map[string]string) error {
	for name, values := range params {
		switch {
		case reservedParams[name]:
		case strings.HasPrefix(name, "param_"):
			return notSupported("query parameters (" + name + ")")
		case name == "session_id" || name == "session_timeout" || name == "session_check":
			return notSupported("HTTP sessions (" + name + ")")
		case strings.HasSuffix(name, "_structure") || strings.HasSuffix(name, "_types"):
			return notSupported("external tables (" + name + ")")
		case !settingNameRE.MatchString(name):
			return &Exception{Code: codeUnknownSetting, Name: "UNKNOWN_SETTING", Message: "Unknown setting '" + name + "'"}
		default:
			into[name] = values[len(values)-1]
		}
	}
	return nil
}

// run executes the request in the engine's session: its database and settings first, taken
// back afterwards, since every request shares the one session.
func (f *Front) run(req *request) (out []byte, err error) {
	if setRE.MatchString(req.sql) {
		// Without a session, a server applies SET to the request alone: nothing remains.
		return nil, nil
	}
	err = f.engine.session(func(h *engineHandle) error {
		if _, err := h.query("USE "+quoteIdent(req.database), "TabSeparated"); err != nil {
			return err
		}
		for name, value := range req.settings {
			defer func() { _, _ = h.query("SET "+name+" = DEFAULT", "TabSeparated") }()
			if _, err := h.query("SET "+name+" = "+quoteString(value), "TabSeparated"); err != nil {
				return err
			}
		}
		if req.data != nil {
			return h.insert(req.sql, req.dataFormat, req.data)
		}
		var err error
		out, err = h.query(req.sql, req.format)
		return err
	})
	if err != nil {
		return nil, err
	}
	if outputFormat(req) == "Native" {
		return reencodeNative(out, req.revision)
	}
	return out, nil
}

// outputFormat is the format the statement's result is written in: its own FORMAT clause, or
// the request's default.
func outputFormat(req *request) string {
	if insertRE.MatchString(req.sql) {
		return ""
	}
	if m := trailingFormat.FindStringSubmatch(req.sql); m != nil {
		return m[1]
	}
	return req.format
}

func writeResult(w http.ResponseWriter, req *request, out []byte) error {
	format := outputFormat(req)
	if req.compress && len(out) > 0 {
		var err error
		if out, err = compressBlocks(out); err != nil {
			return err
		}
	}
	h := w.Header()
	if format != "" {
		h.Set("X-ClickHouse-Format", format)
	}
	h.Set("Content-Type", contentType(format))
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return nil
}

// compressBlocks frames out as ClickHouse's compressed blocks (LZ4, 1 MiB at most each), as
// the server answers compress=1.
func compressBlocks(out []byte) ([]byte, error) {
	cw := compress.NewWriter(compress.LevelZero, compress.LZ4)
	var buf bytes.Buffer
	for len(out) > 0 {
		n := min(len(out), 1<<20)
		if err := cw.Compress(out[:n]); err != nil {
			return nil, err
		}
		buf.Write(cw.Data)
		out = out[n:]
	}
	return buf.Bytes(), nil
}

func contentType(format string) string {
	switch {
	case format == "TabSeparated" || strings.HasPrefix(format, "TSV") || strings.HasPrefix(format, "TabSeparated"):
		return "text/tab-separated-values; charset=UTF-8"
	case strings.HasPrefix(format, "JSON"):
		return "application/json; charset=UTF-8"
	case strings.HasPrefix(format, "CSV"):
		return "text/csv; charset=UTF-8; header=absent"
	case format == "" || strings.HasPrefix(format, "Pretty") || format == "Vertical":
		return "text/plain; charset=UTF-8"
	}
	return "application/octet-stream"
}

func quoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

func quoteString(s string) string {
	return "'" + strings.NewReplacer("\\", "\\\\", "'", "\\'").Replace(s) + "'"
}

func newQueryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
