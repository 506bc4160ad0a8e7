// Package schema is telemetry_guard's schema guard: it checks attribute maps against schema
// rules and an OpenTelemetry semantic-conventions registry, and truncates, drops, renames or
// tags what breaks them, or asks for the record to be dropped.
//
// # Use
//
//	checker, err := schema.Compile(cfg, schema.ReportOnly(mode == "report")) // once, at start
//	var v schema.Verdict                                                     // one per goroutine
//	v.Reset()                                                                // per record
//	checker.Check(walk.LevelResource, resource.Attributes(), &v)             // its maps
//	checker.Check(walk.LevelSpan, span.Attributes(), &v)
//	if v.Drop { ... }                  // a drop_record violation: drop the record
//	v.Count(reason, action), v.Found(reason), v.Offenders() // for metrics and top lists
//
// Compile reads rule files and registries once and reports every problem, with file and
// line. Check changes the map in place (enforce mode) and adds what it found to the
// Verdict; Checker.Checks(level) says which levels need a call at all. A Checker is
// immutable and safe for concurrent use. Checking a clean map costs a map lookup per
// attribute (plus each glob rule of its level) and allocates nothing.
//
// # Rules
//
// Rules are written in the configuration (schema.Config.Rules) or in rule files (Files),
// which hold a top-level `rules:` list of the same form:
//
//	rules:
//	  - name: service-identity        # names the rule in counts; default rules[i]
//	    keys: [service.name, deployment.environment.name]
//	    levels: [resource]            # resource, scope, span, span_event, span_link,
//	                                  # log_record, metric, datapoint, exemplar; default all
//	    required: true                # missing_required
//	    type: string                  # wrong_type: string int double bool bytes map slice
//	                                  # string[] int[] double[] bool[]
//	  - keys: [deployment.environment.name]
//	    levels: [resource]
//	    allowed_values: [production, staging, development] # not_allowed_value
//	    action: tag                   # instead of actions.not_allowed_value
//	  - keys: ["*password*", "*.api_key"] # "*" matches any run of characters, dots included
//	    forbidden: true               # forbidden_key
//	  - keys: [http.route]
//	    max_length: 64                # too_long, in bytes, for strings and string arrays
//	  - levels: [span, log_record]    # no keys: the maps of these levels as a whole
//	    max_attributes: 64            # too_many_attributes
//	    max_length: 4096              # every string no keyed rule bounds
//
// Two rules may check one key at one level in different ways, never the same way twice.
//
// # Actions
//
// Each kind of violation has an action (Config.Actions, or a rule's own action): keep
// (count only), tag, truncate (too_long only), drop_attribute, drop_record, and for
// deprecated also rename. Defaults: missing_required tag, wrong_type drop_attribute,
// not_allowed_value drop_attribute, too_many_attributes drop_attribute (the first
// max_attributes in the map's order are kept, required keys always), too_long truncate,
// forbidden_key drop_attribute, deprecated keep. drop_record makes Verdict.Drop true and
// leaves the map as it is (changes are made once the whole map has been checked).
//
// The tag action adds TagKey, "warden.schema.violation", a string array of entries
// "<reason>:<key>" ("too_long:url.full") or "<reason>" for too_many_attributes; entries are
// not repeated, those an earlier guard wrote are kept, and there are at most MaxTagEntries.
//
// Truncation keeps distinct values distinct: a string longer than its bound becomes its
// longest prefix that ends on a UTF-8 character boundary and leaves 13 bytes, then "~" and
// 12 hex digits of the SHA-256 of the whole value (see Truncate). Truncating twice changes
// nothing.
//
// The checks of one attribute run in this order, and a violation whose action removes the
// attribute (or asks for the record's drop), or a wrong type, ends them: forbidden keys, the
// rules of the exact key, the registry's type, deprecation and enum, glob rules, the level's
// length bound. The attribute count is checked once the map has been read, after the drops.
//
// # Semantic conventions
//
// With semconv.embedded, the types and enum members of the attributes of semantic
// conventions v1.44.0 are checked (package semconv holds them); with semconv.registry_dir,
// those of a registry's model YAML files, alone or over the embedded ones. Keys the registry
// does not define pass; template attributes (http.request.header.<key>) are checked by
// prefix; a rule's type or allowed_values take the place of the registry's for its key.
//
// The conventions leave enums open: a value outside the members is a violation only where
// the registry says so (allow_custom_values: false in older formats), or, as for
// http.request.method, where the enum has an `_OTHER` member and the registry defines a
// `<key>_original` attribute, or for every enum with semconv.enums: closed. A value outside
// an enum that has an `_OTHER` member is replaced by `_OTHER` and the original is kept in
// `<key>_original` where the registry defines it and the sender did not set it (within that
// key's length bound), as the conventions ask; this is counted as not_allowed_value with
// action map_other, whatever actions.not_allowed_value says. Other values outside a closed
// enum take the not_allowed_value action.
//
// A deprecated attribute (`deprecated:` in the model) or enum member is counted as
// deprecated. With the rename action, an attribute the registry marks `reason: renamed`
// moves to its `renamed_to` key (dropped instead when that key is present), and a member's
// value becomes its successor; with no successor, rename keeps it. The embedded v1.44.0
// registry holds deprecated enum members (cpu.mode kernel, renamed to system, and others)
// but not the attributes of the model's deprecated/ files, which the copy it was built from
// does not include: a registry_dir that has them adds them.
//
// # Report mode
//
// ReportOnly(true) makes a Checker that finds and counts exactly what enforce mode would,
// with the action enforce mode would take, and changes nothing: no map is touched and
// Verdict.Drop stays false.
//
// NOTICE: this package embeds data derived from the OpenTelemetry semantic conventions
// v1.44.0, Copyright The OpenTelemetry Authors, licensed under the Apache License 2.0
// (semconv/LICENSE).
package schema // import "github.com/otelwarden/warden/processor/telemetryguardprocessor/internal/schema"
