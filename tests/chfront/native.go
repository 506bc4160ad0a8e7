package chfront

import (
	"bytes"
	"strconv"

	"github.com/ClickHouse/ch-go/proto"
)

// reencodeNative rewrites the Native blocks the engine wrote (revision 0: columns, rows, then
// each column's name, type and data) as a client of protocol revision rev reads them: from
// revision 51903 each block starts with its BlockInfo, and from 54454 each column carries a
// custom-serialization flag (always false here). Every column is decoded and encoded again by
// ch-go's ColAuto, so a type that ColAuto cannot infer is refused with UNKNOWN_TYPE.
func reencodeNative(data []byte, rev int) ([]byte, error) {
	if rev == 0 || len(data) == 0 {
		return data, nil
	}
	src := bytes.NewReader(data)
	r := proto.NewReader(src)
	var out proto.Buffer
	for src.Len() > 0 {
		var (
			block   proto.Block
			results proto.Results
		)
		if err := block.DecodeRawBlock(r, 0, results.Auto()); err != nil {
			return nil, &Exception{Code: codeUnknownType, Name: "UNKNOWN_TYPE",
				Message: "the ClickHouse test front cannot re-encode this Native result for client_protocol_version " +
					strconv.Itoa(rev) + ": " + err.Error()}
		}
		input := make([]proto.InputColumn, len(results))
		for i, c := range results {
			col, ok := c.Data.(proto.ColInput)
			if !ok {
				return nil, &Exception{Code: codeUnknownType, Name: "UNKNOWN_TYPE", Message: "the ClickHouse test front cannot encode column " + c.Name + " of type " + string(c.Data.Type())}
			}
			input[i] = proto.InputColumn{Name: c.Name, Data: col}
		}
		block.Info = proto.BlockInfo{BucketNum: -1}
		if err := block.EncodeBlock(&out, rev, input); err != nil {
			return nil, &Exception{Code: codeUnknownType, Name: "UNKNOWN_TYPE", Message: err.Error()}
		}
	}
	return out.Buf, nil
}
