package fieldcrypt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Type tags of the payload (byte 1): the pdata type of the encrypted value.
const (
	tagEmpty  byte = 0x00
	tagString byte = 0x01
	tagBool   byte = 0x02
	tagInt    byte = 0x03
	tagDouble byte = 0x04
	tagBytes  byte = 0x05
	tagMap    byte = 0x06
	tagSlice  byte = 0x07
)

// plaintext is the encoding of v that is encrypted, and v's type tag. For strings and bytes it
// is v's own memory, never written to; fixed-size types are encoded into scratch (8 bytes or
// more).
func plaintext(v pcommon.Value, scratch []byte) (byte, []byte, error) {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return tagEmpty, nil, nil
	case pcommon.ValueTypeStr:
		s := v.Str()
		return tagString, unsafe.Slice(unsafe.StringData(s), len(s)), nil
	case pcommon.ValueTypeBool:
		scratch = scratch[:1]
		scratch[0] = 0
		if v.Bool() {
			scratch[0] = 1
		}
		return tagBool, scratch, nil
	case pcommon.ValueTypeInt:
		return tagInt, binary.BigEndian.AppendUint64(scratch[:0], uint64(v.Int())), nil
	case pcommon.ValueTypeDouble:
		return tagDouble, binary.BigEndian.AppendUint64(scratch[:0], math.Float64bits(v.Double())), nil
	case pcommon.ValueTypeBytes:
		return tagBytes, v.Bytes().AsRaw(), nil
	case pcommon.ValueTypeMap:
		b, err := anyValueJSON(v)
		return tagMap, b, err
	case pcommon.ValueTypeSlice:
		b, err := anyValueJSON(v)
		return tagSlice, b, err
	}
	return 0, nil, fmt.Errorf("value of unknown type %v", v.Type())
}

// decodeValue is the value of type tag whose encoding is b (authentic: it was decrypted).
func decodeValue(tag byte, b []byte) (pcommon.Value, error) {
	switch tag {
	case tagEmpty:
		if len(b) == 0 {
			return pcommon.NewValueEmpty(), nil
		}
	case tagString:
		return pcommon.NewValueStr(string(b)), nil
	case tagBool:
		if len(b) == 1 && b[0] <= 1 {
			return pcommon.NewValueBool(b[0] == 1), nil
		}
	case tagInt:
		if len(b) == 8 {
			return pcommon.NewValueInt(int64(binary.BigEndian.Uint64(b))), nil
		}
	case tagDouble:
		if len(b) == 8 {
			return pcommon.NewValueDouble(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
		}
	case tagBytes:
		v := pcommon.NewValueBytes()
		v.Bytes().FromRaw(b)
		return v, nil
	case tagMap, tagSlice:
		return anyValueFromJSON(tag, b)
	}
	return pcommon.Value{}, fmt.Errorf("%w: %d bytes do not encode a value of type tag %#x", ErrTampered, len(b), tag)
}

// validTag reports whether tag names a type of payload version 1.
func validTag(tag byte) bool { return tag <= tagSlice }

var jsonMarshaler plog.JSONMarshaler

// logsEnvelope is the part of OTLP JSON logs that holds a record's body.
type logsEnvelope struct {
	ResourceLogs []struct {
		ScopeLogs []struct {
			LogRecords []struct {
				Body json.RawMessage `json:"body"`
			} `json:"logRecords"`
		} `json:"scopeLogs"`
	} `json:"resourceLogs"`
}

// anyValueJSON is v as an OTLP JSON AnyValue ({"kvlistValue":...}, {"arrayValue":...}), as
// pdata writes it: the form the file exporter writes and a decrypt tool reads back.
func anyValueJSON(v pcommon.Value) ([]byte, error) {
	logs := plog.NewLogs()
	v.CopyTo(logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body())
	b, err := jsonMarshaler.MarshalLogs(logs)
	if err != nil {
		return nil, fmt.Errorf("OTLP JSON of a %s value: %w", v.Type(), err)
	}
	var env logsEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("OTLP JSON of a %s value: %w", v.Type(), err)
	}
	if len(env.ResourceLogs) != 1 || len(env.ResourceLogs[0].ScopeLogs) != 1 || len(env.ResourceLogs[0].ScopeLogs[0].LogRecords) != 1 {
		return nil, errors.New("OTLP JSON of a value: unexpected shape of the logs pdata wrote")
	}
	return env.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Body, nil
}

func anyValueFromJSON(tag byte, b []byte) (pcommon.Value, error) {
	bad := func(why string) (pcommon.Value, error) {
		return pcommon.Value{}, fmt.Errorf("%w: decrypted OTLP JSON value: %s", ErrTampered, why)
	}
	if !json.Valid(b) {
		return bad("not JSON")
	}
	doc := make([]byte, 0, len(b)+64)
	doc = append(doc, `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":`...)
	doc = append(doc, b...)
	doc = append(doc, `}]}]}]}`...)
	var u plog.JSONUnmarshaler
	logs, err := u.UnmarshalLogs(doc)
	if err != nil {
		return bad(err.Error())
	}
	if logs.LogRecordCount() != 1 {
		return bad("not one value")
	}
	body := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body()
	want := pcommon.ValueTypeMap
	if tag == tagSlice {
		want = pcommon.ValueTypeSlice
	}
	if body.Type() != want {
		return bad(fmt.Sprintf("a %s, want a %s", body.Type(), want))
	}
	v := pcommon.NewValueEmpty()
	body.CopyTo(v)
	return v, nil
}
