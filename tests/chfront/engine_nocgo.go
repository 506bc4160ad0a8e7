//go:build !cgo

package chfront

import "errors"

type engineHandle struct{}

var errNoCgo = errors.New("chfront: calling libchdb.so needs cgo (CGO_ENABLED=1 and a C compiler)")

func openHandle(string, string) (*engineHandle, string, error) { return nil, "", errNoCgo }

func (*engineHandle) query(string, string) ([]byte, error) { return nil, errNoCgo }

func (*engineHandle) insert(string, string, []byte) error { return errNoCgo }

func (*engineHandle) close() {}
