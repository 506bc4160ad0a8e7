package ledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// VerifyDirAgainstPG verifies a file journal and a PostgreSQL table that should hold the same
// ledger, each on its own, then against each other: the table may lag the journal (it is
// shipped from it), but every entry and checkpoint it holds must be the journal's, and the
// journal must hold every stream the table does, as far as the table goes. Whoever rolls one
// of them back, or rewrites one, is caught by the other.
func (v *Verifier) VerifyDirAgainstPG(ctx context.Context, dir string, s *PGStore) Result {
	pg := v.VerifyPG(ctx, s)
	if pg.Failed() {
		return pg
	}
	dirs, single, err := streamDirs(dir)
	var ferr *FileError
	if errors.As(err, &ferr) {
		return Result{Failure: &Failure{Kind: Tampered, Stream: filepath.Base(ferr.File), Where: ferr.File, Msg: ferr.Err.Error()}}
	}
	if err != nil {
		return Result{Err: err}
	}
	var files Result
	for _, sd := range dirs {
		stream := filepath.Base(sd)
		var check *StreamCheck
		rep, f, err := v.verifyStreamDir(sd, func(c *StreamCheck) {
			check = c
			if pr := pg.report(stream); pr != nil && pr.LastSeq > 0 {
				c.Probe(pr.LastSeq)
			}
		})
		files.Reports = append(files.Reports, rep)
		if f != nil || err != nil {
			files.Failure, files.Err = f, err
			return files
		}
		if pr := pg.report(stream); pr != nil {
			shipped, _ := readUintFile(filepath.Join(sd, ShippedHintFile))
			if f := compareCopies(&files.Reports[len(files.Reports)-1], pr, check, s.table, shipped); f != nil {
				files.Failure = f
				return files
			}
		} else {
			r := &files.Reports[len(files.Reports)-1]
			r.Warnings = append(r.Warnings, fmt.Sprintf("the stream is not in table %s (not shipped there)", s.table))
		}
	}
	if !single {
		v.checkRequired(&files, dir)
		for _, pr := range pg.Reports {
			if files.Failed() {
				break
			}
			if files.report(pr.Stream) == nil {
				files.Failure = &Failure{Kind: Tampered, Stream: pr.Stream, Where: dir,
					Msg: fmt.Sprintf("table %s holds this stream (entries 1..%d), but the journal directory does not: its directory was removed", s.table, pr.LastSeq)}
			}
		}
	}
	return files
}

// ShippedHintFile, in a stream directory, records how far the table is known to hold the
// stream: the ledger writes it after each delivery to PostgreSQL.
const ShippedHintFile = "postgres.shipped"

// readUintFile reads a file holding one decimal number.
func readUintFile(path string) (uint64, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	return n, err == nil
}

// compareCopies checks a stream's table copy against its journal. shipped is how far the
// journal's side knows the table to hold the stream (0: unknown).
func compareCopies(file, pg *StreamReport, check *StreamCheck, table string, shipped uint64) *Failure {
	fail := func(seq uint64, format string, args ...any) *Failure {
		return &Failure{Kind: Tampered, Stream: file.Stream, Seq: seq, Msg: fmt.Sprintf(format, args...)}
	}
	if pg.LastSeq > file.LastSeq {
		return fail(0, "table %s holds entries up to %d, but the journal ends at entry %d: the journal was rolled back or truncated", table, pg.LastSeq, file.LastSeq)
	}
	if pg.LastSeq < shipped {
		return fail(0, "table %s holds entries up to %d, but entries up to %d were delivered to it (%s): rows were removed from the table", table, pg.LastSeq, shipped, ShippedHintFile)
	}
	if pg.LastSeq > 0 && check.Probed(pg.LastSeq) != pg.LastHash {
		return fail(pg.LastSeq, "the journal's entry %d is not the one in table %s: the journal and the table fork", pg.LastSeq, table)
	}
	for seq, h := range pg.CheckpointHashes {
		fh, ok := file.CheckpointHashes[seq]
		switch {
		case !ok:
			return fail(0, "table %s_checkpoints holds a checkpoint for entries up to %d that the journal does not have", table, seq)
		case fh != h:
			return fail(0, "the checkpoint for entries up to %d differs between the journal and table %s_checkpoints", seq, table)
		}
	}
	if lag := file.LastSeq - pg.LastSeq; lag > 0 {
		file.Warnings = append(file.Warnings, fmt.Sprintf("table %s lags the journal by %d entries (not shipped yet)", table, lag))
	}
	return nil
}
