package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otelwarden/warden/internal/audit"
	"github.com/otelwarden/warden/internal/awskms"
	"github.com/otelwarden/warden/internal/fieldcrypt"
)

// The erasure's event in the ledger.
const (
	actionErasure       = "gdpr.erasure_completed"
	resourceTypeTenant  = "tenant"
	complianceTagGDPR   = "gdpr"
	attrShreddedKeyIDs  = "shredded_key_ids"
	attrAlreadyShredded = "already_shredded_key_ids"
)

// The key providers, as the ledger names them.
const (
	providerKeyring = "keyring"
	providerAWSKMS  = "aws_kms"
)

// The waiting period of a KMS key's deletion, in days: KMS's bounds, and the shortest by
// default, since the key is refused from the start and the wait only allows an undo.
const (
	defaultPendingDays = 7
	minPendingDays     = 7
	maxPendingDays     = 30
)

// shredOptions are the flags of `keys shred`.
type shredOptions struct {
	keyring, tenant string
	kmsKey          string
	kmsAt           kmsLocation
	pendingDays     int
	ledger          ledgerOptions
}

func keysShredCmd(c *cli) *cobra.Command {
	return c.leaf(&cobra.Command{
		Use: "shred --keyring FILE --tenant T [LEDGER]\n" +
			"  wardenctl keys shred --aws-kms-key-id ID [--aws-region R] [--aws-endpoint URL]\n" +
			"      [--pending-window-days 7..30] --tenant T [LEDGER]\n" +
			"LEDGER: --ledger-dir DIR and/or --ledger-postgres DSN [--ledger-table audit_log]\n" +
			"      [--ledger-signing-key FILE] [--ledger-stream ID]",
		Short: "Crypto-shredding: destroy a tenant's keys",
		Long: `Crypto-shredding: destroy the material of the tenant's keyring keys (their ids stay, marked
shredded), or schedule the tenant's KMS key for deletion (default in 7 days; KMS refuses the
key at once). The tenant's encrypted fields become unrecoverable wherever they are stored.
Prints the keys shredded.

With a ledger (--ledger-dir and/or --ledger-postgres) the erasure is recorded as
gdpr.erasure_completed under wardenctl's own stream. The ledger is opened first: when it
cannot be, nothing is shredded.`,
	}, `  0  shredded (and recorded, with a ledger)
  2  bad arguments, no key for the tenant, or the keyring or KMS refused: nothing shredded
  4  the audit ledger cannot record the erasure: nothing shredded when it could not be
     opened; the keys ARE shredded when the event could not be recorded after
`, &shredOptions{})
}

func (o *shredOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.keyring, "keyring", "", "keyring `FILE` whose keys of the tenant to shred")
	fs.StringVar(&o.kmsKey, "aws-kms-key-id", "", "the tenant's AWS KMS key `ID` (key id, ARN, alias or alias ARN), to schedule for deletion")
	o.kmsAt.register(fs)
	fs.IntVar(&o.pendingDays, "pending-window-days", defaultPendingDays, "`DAYS` (7 to 30) before KMS deletes the key; it refuses every use from now on")
	fs.StringVar(&o.tenant, "tenant", "", "the tenant `T` whose fields become unrecoverable")
	o.ledger.register(fs)
}

// run destroys a tenant's keys (crypto-shredding): its keyring keys' material, or its KMS
// key, scheduled for deletion. The erasure is recorded in the ledger when one is given, which
// is opened first: an erasure that could not be recorded is not made.
func (o *shredOptions) run(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if err := o.check(fs); err != nil {
		fmt.Fprintln(stderr, "wardenctl keys shred:", err)
		return exitUsage
	}
	who := currentOperator()
	var rec *actionLedger
	if o.ledger.enabled() {
		var err error
		if rec, err = o.ledger.open(who, stderr); err != nil {
			fmt.Fprintf(stderr, "wardenctl keys shred: the audit ledger cannot record the erasure, so nothing was shredded: %v\n", err)
			return exitUnrecorded
		}
	}
	var (
		ev  audit.Event
		err error
	)
	if o.keyring != "" {
		ev, err = o.shredKeyring(stdout)
	} else {
		ev, err = o.shredKMS(stdout)
	}
	if err != nil {
		if rec != nil {
			rec.close()
		}
		fmt.Fprintln(stderr, "wardenctl keys shred:", err)
		return exitUsage
	}
	if rec == nil {
		fmt.Fprintln(stderr, "wardenctl keys shred: not recorded in an audit ledger (no --ledger-dir or --ledger-postgres)")
		return exitOK
	}
	ev.Actor = who.actor()
	for k, v := range who.attributes() {
		ev.Attributes[k] = v
	}
	if err := rec.recordAndClose(ev); err != nil {
		return ledgerFailed(stderr, "keys shred", "the tenant's keys ARE shredded", err)
	}
	fmt.Fprintf(stdout, "recorded: %s in the audit ledger (%s)\n", actionErasure, rec.where())
	return exitOK
}

func (o *shredOptions) check(fs *pflag.FlagSet) error {
	kmsOnly := o.kmsAt.region != "" || o.kmsAt.endpoint != "" || fs.Changed("pending-window-days")
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case (o.keyring == "") == (o.kmsKey == ""):
		return errors.New("give either --keyring FILE or --aws-kms-key-id ID")
	case o.tenant == "":
		return errors.New("--tenant is required: shredding destroys one tenant's keys")
	case o.keyring != "" && kmsOnly:
		return errors.New("--aws-region, --aws-endpoint and --pending-window-days go with --aws-kms-key-id, not --keyring")
	case o.pendingDays < minPendingDays || o.pendingDays > maxPendingDays:
		return fmt.Errorf("--pending-window-days %d: want %d to %d (KMS's bounds)", o.pendingDays, minPendingDays, maxPendingDays)
	}
	if o.kmsKey != "" {
		cfg := o.kmsAt.config(o.kmsKey)
		if err := cfg.Validate(); err != nil {
			return &reworded{msg: flagNames(err), err: err}
		}
	}
	return o.ledger.check()
}

// erasureEvent is the ledger event of a tenant's erasure, without the actor.
func erasureEvent(tenant, provider string) audit.Event {
	return audit.Event{
		Action:             actionErasure,
		Resource:           audit.Resource{Type: resourceTypeTenant, ID: clip(tenant, 255)},
		Outcome:            audit.OutcomeSuccess,
		Attributes:         map[string]string{"key_provider": provider},
		DataClassification: audit.ClassInternal,
		ComplianceTags:     []string{complianceTagGDPR},
	}
}

func (o *shredOptions) shredKeyring(stdout io.Writer) (audit.Event, error) {
	shredded, err := fieldcrypt.Shred(o.keyring, o.tenant)
	if err != nil {
		return audit.Event{}, err
	}
	kr, err := fieldcrypt.Load(o.keyring)
	if err != nil {
		return audit.Event{}, fmt.Errorf("the tenant's keys are shredded, but the keyring does not read back: %w", err)
	}
	ids := make([]string, len(shredded))
	for i, k := range shredded {
		ids[i] = k.ID
	}
	var already []string
	for _, id := range keyIDs(kr.Keys(), o.tenant, fieldcrypt.KeyShredded) {
		if !slices.Contains(ids, id) {
			already = append(already, id)
		}
	}
	if len(ids) > 0 {
		fmt.Fprintf(stdout, "tenant %s: shredded %s in %s: %s\n", o.tenant, count(len(ids), "key", "keys"), o.keyring, strings.Join(ids, ", "))
	}
	if len(already) > 0 {
		fmt.Fprintf(stdout, "tenant %s: already shredded before: %s\n", o.tenant, strings.Join(already, ", "))
	}
	fmt.Fprintf(stdout, "\nEvery field of tenant %s encrypted under these keys is unrecoverable wherever it is stored.\n"+
		"Copies of the keyring file (backups, snapshots) still hold the keys: destroy them too.\n"+
		"A running collector stops using the keys within a second.\n", o.tenant)
	ev := erasureEvent(o.tenant, providerKeyring)
	ev.Attributes["keyring"] = clip(o.keyring, 1024)
	ev.Attributes[attrShreddedKeyIDs] = strings.Join(ids, ",")
	ev.Attributes[attrAlreadyShredded] = strings.Join(already, ",")
	ev.Counts = map[string]int64{"keys_shredded": int64(len(ids))}
	return ev, nil
}

// kmsShredAPI is what `keys shred` asks of KMS.
type kmsShredAPI interface {
	kmsDescriber
	ScheduleKeyDeletion(ctx context.Context, in *kms.ScheduleKeyDeletionInput, optFns ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error)
}

// shredKMS schedules the deletion of the tenant's KMS key. The key is described first, so
// that only a symmetric encryption key, the kind field_encryption uses, is ever scheduled
// (never a ledger signing key given by mistake), and an alias is resolved to its key.
func (o *shredOptions) shredKMS(stdout io.Writer) (audit.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*awskms.CallTimeout)
	defer cancel()
	client, err := awskms.NewClient(ctx, o.kmsAt.config(o.kmsKey))
	if err != nil {
		return audit.Event{}, err
	}
	return o.scheduleDeletion(ctx, client, stdout)
}

func (o *shredOptions) scheduleDeletion(ctx context.Context, api kmsShredAPI, stdout io.Writer) (audit.Event, error) {
	desc, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(o.kmsKey)})
	if err != nil {
		return audit.Event{}, fmt.Errorf("KMS key %s: %w", o.kmsKey, err)
	}
	md := desc.KeyMetadata
	arn := aws.ToString(md.Arn)
	if md.KeyUsage != types.KeyUsageTypeEncryptDecrypt || (md.KeySpec != "" && md.KeySpec != types.KeySpecSymmetricDefault) {
		return audit.Event{}, fmt.Errorf("KMS key %s (%s) is %s / %s, not a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key: it does not protect fields; nothing was scheduled",
			o.kmsKey, arn, md.KeySpec, md.KeyUsage)
	}
	ev := erasureEvent(o.tenant, providerAWSKMS)
	ev.Attributes["aws_kms_key_arn"] = arn
	ev.Attributes["key_label"] = fieldcrypt.TenantLabel(o.tenant)
	var deletion time.Time
	if md.KeyState == types.KeyStatePendingDeletion {
		deletion = aws.ToTime(md.DeletionDate)
		fmt.Fprintf(stdout, "tenant %s: KMS key %s was already scheduled for deletion on %s\n", o.tenant, arn, deletion.UTC().Format(time.RFC3339))
		ev.Attributes[attrAlreadyShredded] = arn
		ev.Counts = map[string]int64{"keys_shredded": 0}
	} else {
		out, err := api.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.Arn, PendingWindowInDays: aws.Int32(int32(o.pendingDays))})
		if err != nil {
			return audit.Event{}, fmt.Errorf("KMS key %s (%s): scheduling its deletion: %w", o.kmsKey, arn, err)
		}
		deletion = aws.ToTime(out.DeletionDate)
		fmt.Fprintf(stdout, "tenant %s: KMS key %s (values labelled %s) scheduled for deletion on %s (%d days)\n",
			o.tenant, arn, fieldcrypt.TenantLabel(o.tenant), deletion.UTC().Format(time.RFC3339), o.pendingDays)
		ev.Attributes[attrShreddedKeyIDs] = arn
		ev.Attributes["pending_window_days"] = strconv.Itoa(o.pendingDays)
		ev.Counts = map[string]int64{"keys_shredded": 1}
	}
	ev.Attributes["deletion_date"] = deletion.UTC().Format(time.RFC3339)
	fmt.Fprintf(stdout, "\nKMS refuses every use of the key from now on: every field of tenant %s encrypted under it\n"+
		"is unrecoverable wherever it is stored. Until the deletion date, `aws kms cancel-key-deletion\n"+
		"--key-id %s` could undo this; after it, nothing can.\n", o.tenant, arn)
	return ev, nil
}
