//go:build cgo

package chfront

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

// The few declarations of chdb.h (chDB 26.7) the front calls. The library is opened at run time
// with dlopen, so that nothing links against it and a missing library is a test skip, not a
// build failure.
typedef struct { void *internal_data; } chdb_result;
typedef struct chdb_connection_ { void *internal_data; } *chdb_connection;
typedef struct chdb_insert_stream_ { void *internal_data; } *chdb_insert_stream;

static void *lib;
static const char *(*p_version)(void);
static void (*p_set_signal_handlers_enabled)(int);
static chdb_connection *(*p_connect)(int, char **);
static void (*p_close_conn)(chdb_connection *);
static int (*p_shutdown)(void);
static chdb_result *(*p_query_n)(chdb_connection, const char *, size_t, const char *, size_t);
static char *(*p_result_buffer)(chdb_result *);
static size_t (*p_result_length)(chdb_result *);
static const char *(*p_result_error)(chdb_result *);
static uint64_t (*p_result_rows_written)(chdb_result *);
static void (*p_destroy_query_result)(chdb_result *);
static chdb_insert_stream (*p_stream_insert_n)(chdb_connection, const char *, size_t, const char *, size_t);
static int (*p_stream_append)(chdb_insert_stream, const void *, size_t);
static chdb_result *(*p_stream_done)(chdb_insert_stream);
static const char *(*p_stream_insert_error)(chdb_insert_stream);
static void (*p_destroy_insert_stream)(chdb_insert_stream);

#define LOAD(var, name) if (!(*(void **)(&var) = dlsym(lib, name))) return "missing symbol " name;

static const char *wch_load(const char *path) {
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) return dlerror();
	LOAD(p_version, "chdb_version")
	LOAD(p_set_signal_handlers_enabled, "chdb_set_signal_handlers_enabled")
	LOAD(p_connect, "chdb_connect")
	LOAD(p_close_conn, "chdb_close_conn")
	LOAD(p_shutdown, "chdb_shutdown")
	LOAD(p_query_n, "chdb_query_n")
	LOAD(p_result_buffer, "chdb_result_buffer")
	LOAD(p_result_length, "chdb_result_length")
	LOAD(p_result_error, "chdb_result_error")
	LOAD(p_result_rows_written, "chdb_result_rows_written")
	LOAD(p_destroy_query_result, "chdb_destroy_query_result")
	LOAD(p_stream_insert_n, "chdb_stream_insert_n")
	LOAD(p_stream_append, "chdb_stream_append")
	LOAD(p_stream_done, "chdb_stream_done")
	LOAD(p_stream_insert_error, "chdb_stream_insert_error")
	LOAD(p_destroy_insert_stream, "chdb_destroy_insert_stream")
	// The Go runtime owns the process's signals (SIGSEGV, SIGURG for preemption ...).
	p_set_signal_handlers_enabled(0);
	return NULL;
}

static const char *wch_version(void) { return p_version(); }
static chdb_connection *wch_connect(int argc, char **argv) { return p_connect(argc, argv); }
static void wch_close(chdb_connection *c) { p_close_conn(c); }
static int wch_shutdown(void) { return p_shutdown(); }

static chdb_result *wch_query(chdb_connection *c, const char *q, size_t ql, const char *f, size_t fl) {
	return p_query_n(*c, q, ql, f, fl);
}
static char *wch_buffer(chdb_result *r) { return p_result_buffer(r); }
static size_t wch_length(chdb_result *r) { return p_result_length(r); }
static const char *wch_error(chdb_result *r) { return p_result_error(r); }
static uint64_t wch_rows_written(chdb_result *r) { return p_result_rows_written(r); }
static void wch_destroy(chdb_result *r) { p_destroy_query_result(r); }

// wch_insert runs a whole streaming INSERT: the statement (without its FORMAT clause), then
// the data in one chunk. It returns the result of the commit, or NULL with *err set when the
// stream failed before it.
static chdb_result *wch_insert(chdb_connection *c, const char *q, size_t ql, const char *f, size_t fl,
		const void *data, size_t len, char **err) {
	*err = NULL;
	chdb_insert_stream s = p_stream_insert_n(*c, q, ql, f, fl);
	const char *e = p_stream_insert_error(s);
	if (!e && len > 0 && p_stream_append(s, data, len) != 0) {
		e = p_stream_insert_error(s);
		if (!e) e = "the insert stream refused the data";
	}
	chdb_result *r = NULL;
	if (e) {
		*err = strdup(e);
	} else {
		r = p_stream_done(s);
	}
	p_destroy_insert_stream(s);
	return r;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

var loadOnce struct {
	sync.Once
	path string
	err  error
}

// load opens libchdb.so once per process: the library keeps one engine per process.
func load(libPath string) error {
	loadOnce.Do(func() {
		loadOnce.path = libPath
		p := C.CString(libPath)
		defer C.free(unsafe.Pointer(p))
		if msg := C.wch_load(p); msg != nil {
			loadOnce.err = fmt.Errorf("chfront: loading %s: %s", libPath, C.GoString(msg))
		}
	})
	if loadOnce.err == nil && loadOnce.path != libPath {
		return fmt.Errorf("chfront: %s is loaded already; one chDB library per process", loadOnce.path)
	}
	return loadOnce.err
}

type engineHandle struct {
	conn *C.chdb_connection
}

func openHandle(libPath, dir string) (*engineHandle, string, error) {
	if err := load(libPath); err != nil {
		return nil, "", err
	}
	args := []string{"clickhouse", "--path=" + dir}
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
		defer C.free(unsafe.Pointer(argv[i]))
	}
	conn := C.wch_connect(C.int(len(args)), &argv[0])
	if conn == nil {
		return nil, "", fmt.Errorf("chfront: chDB could not open a session on %s", dir)
	}
	return &engineHandle{conn: conn}, C.GoString(C.wch_version()), nil
}

// query runs one statement and returns its output in format.
func (h *engineHandle) query(sql, format string) ([]byte, error) {
	q, f := C.CBytes([]byte(sql)), C.CString(format)
	defer C.free(q)
	defer C.free(unsafe.Pointer(f))
	r := C.wch_query(h.conn, (*C.char)(q), C.size_t(len(sql)), f, C.size_t(len(format)))
	return takeResult(r)
}

// insert runs an INSERT statement (without FORMAT) with data in format.
func (h *engineHandle) insert(stmt, format string, data []byte) error {
	q, f := C.CBytes([]byte(stmt)), C.CString(format)
	defer C.free(q)
	defer C.free(unsafe.Pointer(f))
	var d unsafe.Pointer
	if len(data) > 0 {
		d = C.CBytes(data)
		defer C.free(d)
	}
	var cerr *C.char
	r := C.wch_insert(h.conn, (*C.char)(q), C.size_t(len(stmt)), f, C.size_t(len(format)), d, C.size_t(len(data)), &cerr)
	if cerr != nil {
		defer C.free(unsafe.Pointer(cerr))
		return errors.New(C.GoString(cerr))
	}
	_, err := takeResult(r)
	return err
}

func takeResult(r *C.chdb_result) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	defer C.wch_destroy(r)
	if e := C.wch_error(r); e != nil {
		if msg := C.GoString(e); msg != "" {
			return nil, errors.New(msg)
		}
	}
	n := C.wch_length(r)
	if n == 0 {
		return nil, nil
	}
	return C.GoBytes(unsafe.Pointer(C.wch_buffer(r)), C.int(n)), nil
}

// close ends the session and stops the engine's threads.
func (h *engineHandle) close() {
	C.wch_close(h.conn)
	C.wch_shutdown()
}
