package chfront

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
)

// ClickHouse error codes the front itself answers with (src/Common/ErrorCodes.cpp).
const (
	codeUnsupportedMethod = 1
	codeNotImplemented    = 48
	codeUnknownType       = 50
	codeSyntaxError       = 62
	codeUnknownSetting    = 115
	codeUnknownException  = 1002
)

// Exception is an error as ClickHouse reports it: a numeric code, its name and a message.
type Exception struct {
	Code    int
	Name    string
	Message string
}

// Error formats the exception as ClickHouse writes it in an HTTP response body.
func (e *Exception) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("Code: %d. DB::Exception: %s.", e.Code, e.Message)
	}
	return fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", e.Code, e.Message, e.Name)
}

// notSupported is the front's refusal of what it does not implement.
func notSupported(what string) *Exception {
	return &Exception{Code: codeNotImplemented, Name: "NOT_IMPLEMENTED",
		Message: "the ClickHouse test front does not support " + what}
}

var engineErrorRE = regexp.MustCompile(`^Code: (\d+)\. `)

// asException gives an engine error its code, which chDB puts at the start of the message
// ("Code: 60. DB::Exception: ... (UNKNOWN_TABLE)"); the text is kept as the engine wrote it.
func asException(err error) (code int, body string) {
	var ex *Exception
	if errors.As(err, &ex) {
		return ex.Code, ex.Error()
	}
	msg := err.Error()
	if m := engineErrorRE.FindStringSubmatch(msg); m != nil {
		code, _ = strconv.Atoi(m[1])
		return code, msg
	}
	return codeUnknownException, fmt.Sprintf("Code: %d. DB::Exception: %s. (UNKNOWN_EXCEPTION)", codeUnknownException, msg)
}

// httpStatus maps an exception code to the status ClickHouse's HTTP handler answers with
// (exceptionCodeToHTTPStatus in HTTPHandler.cpp, for the codes a client of the front can meet).
func httpStatus(code int) int {
	switch code {
	case 192, 193, 194, 195, 516: // UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, IP_ADDRESS_NOT_ALLOWED, AUTHENTICATION_FAILED
		return http.StatusUnauthorized
	case 164, 497: // READONLY, ACCESS_DENIED
		return http.StatusForbidden
	case 46, 47, 50, 56, 60, 63, 73, 81, 115, 196, 336: // UNKNOWN_FUNCTION, _IDENTIFIER, _TYPE, _STORAGE, _TABLE, _AGGREGATE_FUNCTION, _FORMAT, _DATABASE, _SETTING, _TYPE_OF_QUERY, _DATABASE_ENGINE
		return http.StatusNotFound
	case 6, 25, 26, 27, 36, 38, 41, 42, 43, 53, 62, 72, 117: // CANNOT_PARSE_*, BAD_ARGUMENTS, argument and type errors, SYNTAX_ERROR, INCORRECT_DATA
		return http.StatusBadRequest
	case codeNotImplemented:
		return http.StatusNotImplemented
	case 159: // TIMEOUT_EXCEEDED
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}
