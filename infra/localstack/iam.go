package localstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/infra/samtemplate"
)

// IAM, locally: each function's requests to DynamoDB are checked against the policy statements
// the template gives it (Policies), as IAM would check them, so that a right missing from the
// template shows up on this machine rather than as AccessDeniedException after a deploy.
// A function is known by its session token (each gets its own, as each Lambda function has
// its own role); requests without one (the stack's own: tables, seeding, saving) are not
// checked. By default a request the policy does not allow is only reported (the log's "iam"
// lines, PolicyDenials); with Options.EnforcePolicies it is refused with DynamoDB's
// AccessDeniedException.
//
// What is evaluated: Allow and Deny statements with Action and Resource (wildcards * and ?),
// and conditions on dynamodb:LeadingKeys (ForAllValues:, ForAnyValue: and plain StringLike,
// StringEquals and their negations). A statement with any other condition key, NotAction or
// NotResource never matches, and a policy that is not inline statements (a managed policy's
// name, a SAM policy template) leaves its function unchecked; both are logged once. What is
// authorised per request, as DynamoDB does: GetItem, PutItem, UpdateItem, DeleteItem, Query
// and Scan on the table (or index) with the partition key they name; BatchGetItem and
// BatchWriteItem once per table with every key of the request; each action of
// TransactWriteItems (Put, Update, Delete, ConditionCheck as ConditionCheckItem) and
// TransactGetItems (Get as GetItem) on its own.

// sessionToken is the AWS_SESSION_TOKEN the stack gives function logicalID.
func sessionToken(logicalID string) string { return "local-session-" + logicalID }

// Denial is a request a function's policy does not allow.
type Denial struct {
	FunctionID  string
	Action      string   // such as dynamodb:PutItem
	Resource    string   // the table's or index's ARN
	LeadingKeys []string // the partition key values the request names
}

// String describes the denial for the log: each leading key only up to its first "#" (the
// item's kind, which is what a policy's pattern names), since a key may hold a link's token.
func (d Denial) String() string {
	keys := ""
	if len(d.LeadingKeys) > 0 {
		kinds := make([]string, len(d.LeadingKeys))
		for i, k := range d.LeadingKeys {
			if kind, _, found := strings.Cut(k, "#"); found {
				k = kind + "#…"
			}
			kinds[i] = k
		}
		keys = " with leading keys " + strings.Join(slices.Compact(kinds), ", ")
	}
	return fmt.Sprintf("%s may not %s on %s%s", d.FunctionID, d.Action, d.Resource, keys)
}

// policyChecker holds the functions' policies and what it found.
type policyChecker struct {
	enforce  bool
	arn      func(table, index string) string // a table's (index's) ARN
	keys     map[string]string                // hash key attribute by "table" or "table/index/name"
	policies map[string]*functionPolicy       // by session token
	logf     func(format string, args ...any)

	mu      sync.Mutex
	denials []Denial
	noted   map[string]bool // log lines written once
}

type functionPolicy struct {
	id         string
	statements []policyStatement
	unchecked  string // why the function's requests cannot be checked ("" when they can)
}

type policyStatement struct {
	sid        string
	deny       bool
	actions    []string
	resources  []string
	conditions []policyCondition
	unusable   string // why the statement can never match ("" when it can)
}

type policyCondition struct {
	operator string // such as ForAllValues:StringLike
	key      string // lower case
	values   []string
}

// newPolicyChecker reads the policies of tmpl's functions, resolved against names, and the key
// schemas of its tables; table gives a table's physical name.
func newPolicyChecker(tmpl *samtemplate.Template, names map[string]string, table func(string) string, enforce bool, logf func(string, ...any)) (*policyChecker, error) {
	p := tmpl.Pseudo
	c := &policyChecker{
		enforce: enforce,
		arn: func(t, index string) string {
			a := "arn:" + p["AWS::Partition"] + ":dynamodb:" + p["AWS::Region"] + ":" + p["AWS::AccountId"] + ":table/" + t
			if index != "" {
				a += "/index/" + index
			}
			return a
		},
		keys:     map[string]string{},
		policies: map[string]*functionPolicy{},
		logf:     logf,
		noted:    map[string]bool{},
	}
	for _, tb := range tmpl.Tables {
		name := table(tb.LogicalID)
		c.keys[name] = hashKey(tb.Definition.KeySchema)
		for _, g := range tb.Definition.GlobalSecondaryIndexes {
			c.keys[name+"/index/"+deref(g.IndexName)] = hashKey(g.KeySchema)
		}
		for _, l := range tb.Definition.LocalSecondaryIndexes {
			c.keys[name+"/index/"+deref(l.IndexName)] = hashKey(l.KeySchema)
		}
	}
	for _, fn := range tmpl.Functions {
		resolved, err := tmpl.ResolveValue(fn.Policies, names)
		if err != nil {
			return nil, fmt.Errorf("%s policies: %w", fn.LogicalID, err)
		}
		c.policies[sessionToken(fn.LogicalID)] = parsePolicies(fn.LogicalID, resolved)
	}
	return c, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parsePolicies reads a function's resolved Policies: a list of policy documents (or one).
func parsePolicies(id string, policies any) *functionPolicy {
	fp := &functionPolicy{id: id}
	for _, p := range listOf(policies) {
		doc, ok := p.(map[string]any)
		if !ok || doc["Statement"] == nil {
			fp.unchecked = fmt.Sprintf("its Policies hold %v, not only inline statements", p)
			return fp
		}
		for _, x := range listOf(doc["Statement"]) {
			st, _ := x.(map[string]any)
			fp.statements = append(fp.statements, parseStatement(st))
		}
	}
	return fp
}

func parseStatement(st map[string]any) policyStatement {
	ps := policyStatement{
		deny:      st["Effect"] == "Deny",
		actions:   stringsOf(st["Action"]),
		resources: stringsOf(st["Resource"]),
	}
	ps.sid, _ = st["Sid"].(string)
	switch {
	case st["NotAction"] != nil || st["NotResource"] != nil:
		ps.unusable = "NotAction and NotResource are not evaluated locally"
	case st["Effect"] != "Allow" && st["Effect"] != "Deny":
		ps.unusable = fmt.Sprintf("Effect %v", st["Effect"])
	}
	conds, _ := st["Condition"].(map[string]any)
	for op, v := range conds {
		keys, _ := v.(map[string]any)
		for k, vals := range keys {
			ps.conditions = append(ps.conditions, policyCondition{operator: op, key: strings.ToLower(k), values: stringsOf(vals)})
			if !strings.EqualFold(k, "dynamodb:LeadingKeys") && ps.unusable == "" {
				ps.unusable = fmt.Sprintf("its condition on %s is not evaluated locally", k)
			}
		}
	}
	return ps
}

func listOf(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

func stringsOf(v any) []string {
	var out []string
	for _, e := range listOf(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// authorization is one thing a request needs the right to do.
type authorization struct {
	action      string
	table       string // the table's physical name
	index       string // "" for the table itself
	leadingKeys []string
}

// check authorises a DynamoDB request made with session token: it returns the denials (nil
// when the request is allowed, or not a function's), and records and logs them.
func (c *policyChecker) check(token, target string, body []byte) []Denial {
	fp, ok := c.policies[token]
	if !ok {
		return nil
	}
	if fp.unchecked != "" {
		c.note(fp.id, "%s's requests are not checked: %s", fp.id, fp.unchecked)
		return nil
	}
	op := strings.TrimPrefix(target, "DynamoDB_20120810.")
	auths, err := c.authorizations(op, body)
	if err != nil {
		c.note(fp.id+"/"+op, "%s's %s not checked: %v", fp.id, op, err)
		return nil
	}
	var denied []Denial
	for _, a := range auths {
		resource := c.arn(a.table, a.index)
		if !fp.allows(c, a.action, resource, a.leadingKeys) {
			denied = append(denied, Denial{FunctionID: fp.id, Action: a.action, Resource: resource, LeadingKeys: a.leadingKeys})
		}
	}
	if len(denied) > 0 {
		c.mu.Lock()
		c.denials = append(c.denials, denied...)
		c.mu.Unlock()
		verdict := "allowed anyway (Options.EnforcePolicies refuses it)"
		if c.enforce {
			verdict = "refused"
		}
		for _, d := range denied {
			c.logf("%s: %s", d, verdict)
		}
	}
	return denied
}

// note logs a line once per key.
func (c *policyChecker) note(key, format string, args ...any) {
	c.mu.Lock()
	seen := c.noted[key]
	c.noted[key] = true
	c.mu.Unlock()
	if !seen {
		c.logf(format, args...)
	}
}

// allows evaluates fp's statements for one action on resource: allowed when some Allow
// statement matches and no Deny statement does.
func (fp *functionPolicy) allows(c *policyChecker, action, resource string, keys []string) bool {
	allowed := false
	for _, st := range fp.statements {
		if !st.matches(action, resource, keys) {
			if st.unusable != "" && matchesAny(st.actions, action, true) {
				c.note(fp.id+"/"+st.sid, "%s's statement %s is not evaluated: %s", fp.id, st.sid, st.unusable)
			}
			continue
		}
		if st.deny {
			return false
		}
		allowed = true
	}
	return allowed
}

func (st policyStatement) matches(action, resource string, keys []string) bool {
	if st.unusable != "" || !matchesAny(st.actions, action, true) || !matchesAny(st.resources, resource, false) {
		return false
	}
	for _, cond := range st.conditions {
		if !cond.holds(keys) {
			return false
		}
	}
	return true
}

// matchesAny reports whether value matches one of IAM's patterns (* and ? wildcards), ignoring
// case for actions.
func matchesAny(patterns []string, value string, foldCase bool) bool {
	for _, p := range patterns {
		if foldCase {
			p, value = strings.ToLower(p), strings.ToLower(value)
		}
		if globMatch(p, value) {
			return true
		}
	}
	return false
}

// globMatch matches IAM's wildcards: * any run of characters (slashes included), ? any one.
func globMatch(pattern, s string) bool {
	p, v := []rune(pattern), []rune(s)
	// star and mark remember the last * and where in v it was tried to end, to backtrack to.
	i, j, star, mark := 0, 0, -1, 0
	for j < len(v) {
		switch {
		case i < len(p) && (p[i] == '?' || p[i] == v[j]):
			i++
			j++
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			mark++
			i, j = star+1, mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}

// holds evaluates a condition on the request's leading keys, as IAM does: a set operator
// (ForAllValues:, ForAnyValue:) over every key; ForAllValues holds for a request naming no key.
// A single-valued operator holds when the request names exactly one key that satisfies it.
func (cond policyCondition) holds(keys []string) bool {
	qualifier, op, set := strings.Cut(cond.operator, ":")
	if !set {
		op, qualifier = cond.operator, ""
	}
	test := func(v string) bool {
		var match bool
		switch strings.TrimSuffix(strings.TrimPrefix(op, "String"), "IgnoreCase") {
		case "Like", "NotLike":
			match = slices.ContainsFunc(cond.values, func(p string) bool { return globMatch(p, v) })
		case "Equals", "NotEquals":
			match = slices.ContainsFunc(cond.values, func(p string) bool {
				if strings.HasSuffix(op, "IgnoreCase") {
					return strings.EqualFold(p, v)
				}
				return p == v
			})
		default:
			return false
		}
		if strings.Contains(op, "Not") {
			return !match
		}
		return match
	}
	switch strings.ToLower(qualifier) {
	case "forallvalues":
		return !slices.ContainsFunc(keys, func(k string) bool { return !test(k) })
	case "foranyvalue":
		return slices.ContainsFunc(keys, test)
	case "":
		return len(keys) == 1 && test(keys[0])
	}
	return false
}

// authorizations returns what a DynamoDB request of operation op needs the right to do.
func (c *policyChecker) authorizations(op string, body []byte) ([]authorization, error) {
	var req struct {
		TableName                 string
		IndexName                 string
		Key                       map[string]map[string]any
		Item                      map[string]map[string]any
		KeyConditionExpression    string
		KeyConditions             map[string]struct{ AttributeValueList []map[string]any }
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues map[string]map[string]any
		RequestItems              map[string]json.RawMessage
		TransactItems             []map[string]struct {
			TableName string
			Key       map[string]map[string]any
			Item      map[string]map[string]any
		}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	one := func(action, table, index string, keys ...string) []authorization {
		return []authorization{{action: "dynamodb:" + action, table: table, index: index, leadingKeys: keys}}
	}
	switch op {
	case "GetItem", "UpdateItem", "DeleteItem":
		return one(op, req.TableName, "", c.leadingKey(req.TableName, req.Key)...), nil
	case "PutItem":
		return one(op, req.TableName, "", c.leadingKey(req.TableName, req.Item)...), nil
	case "Scan":
		return one(op, req.TableName, req.IndexName), nil
	case "Query":
		key := c.queriedKey(req.TableName, req.IndexName, req.KeyConditionExpression, req.ExpressionAttributeNames, req.ExpressionAttributeValues)
		if key == "" && req.KeyConditions != nil {
			if kc, ok := req.KeyConditions[c.keys[indexPath(req.TableName, req.IndexName)]]; ok && len(kc.AttributeValueList) == 1 {
				key = scalar(kc.AttributeValueList[0])
			}
		}
		if key == "" {
			return one(op, req.TableName, req.IndexName), nil
		}
		return one(op, req.TableName, req.IndexName, key), nil
	case "BatchGetItem", "BatchWriteItem":
		var out []authorization
		for _, table := range slices.Sorted(maps.Keys(req.RequestItems)) {
			var keys []string
			if op == "BatchGetItem" {
				var ka struct{ Keys []map[string]map[string]any }
				if err := json.Unmarshal(req.RequestItems[table], &ka); err != nil {
					return nil, fmt.Errorf("decode request items: %w", err)
				}
				for _, k := range ka.Keys {
					keys = append(keys, c.leadingKey(table, k)...)
				}
			} else {
				var writes []struct {
					PutRequest    *struct{ Item map[string]map[string]any }
					DeleteRequest *struct{ Key map[string]map[string]any }
				}
				if err := json.Unmarshal(req.RequestItems[table], &writes); err != nil {
					return nil, fmt.Errorf("decode request items: %w", err)
				}
				for _, w := range writes {
					switch {
					case w.PutRequest != nil:
						keys = append(keys, c.leadingKey(table, w.PutRequest.Item)...)
					case w.DeleteRequest != nil:
						keys = append(keys, c.leadingKey(table, w.DeleteRequest.Key)...)
					}
				}
			}
			slices.Sort(keys)
			out = append(out, authorization{action: "dynamodb:" + op, table: table, leadingKeys: slices.Compact(keys)})
		}
		return out, nil
	case "TransactWriteItems", "TransactGetItems":
		actions := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
		var out []authorization
		for _, ti := range req.TransactItems {
			for kind, it := range ti {
				action, ok := actions[kind]
				if !ok {
					return nil, fmt.Errorf("transaction item %s", kind)
				}
				key := it.Key
				if kind == "Put" {
					key = it.Item
				}
				out = append(out, one(action, it.TableName, "", c.leadingKey(it.TableName, key)...)...)
			}
		}
		return out, nil
	}
	// Everything else (DescribeTable, ...) names a table at most.
	return one(op, req.TableName, ""), nil
}

func indexPath(table, index string) string {
	if index == "" {
		return table
	}
	return table + "/index/" + index
}

// leadingKey returns the partition key value of an item or key of table (none if absent).
func (c *policyChecker) leadingKey(table string, item map[string]map[string]any) []string {
	v, ok := item[c.keys[table]]
	if !ok {
		return nil
	}
	return []string{scalar(v)}
}

// scalar returns the value of a DynamoDB string, number or binary attribute value.
func scalar(v map[string]any) string {
	for _, t := range []string{"S", "N", "B"} {
		if s, ok := v[t].(string); ok {
			return s
		}
	}
	return ""
}

// equality matches "operand = operand" in a key condition expression.
var equality = regexp.MustCompile(`([#:]?[A-Za-z0-9_.\-]+)\s*=\s*([#:]?[A-Za-z0-9_.\-]+)`)

// queriedKey returns the partition key value a Query's KeyConditionExpression names ("" if it
// cannot tell).
func (c *policyChecker) queriedKey(table, index, expr string, names map[string]string, values map[string]map[string]any) string {
	hash := c.keys[indexPath(table, index)]
	name := func(operand string) string {
		if n, ok := names[operand]; ok {
			return n
		}
		return operand
	}
	for _, m := range equality.FindAllStringSubmatch(expr, -1) {
		a, b := m[1], m[2]
		if strings.HasPrefix(a, ":") {
			a, b = b, a
		}
		if name(a) == hash && strings.HasPrefix(b, ":") {
			if v, ok := values[b]; ok {
				return scalar(v)
			}
		}
	}
	return ""
}

// hashKey returns the HASH attribute of a key schema.
func hashKey(schema []types.KeySchemaElement) string {
	for _, k := range schema {
		if k.KeyType == types.KeyTypeHash {
			return deref(k.AttributeName)
		}
	}
	return ""
}

// withPolicies wraps the DynamoDB endpoint's handler: each request made with a function's
// session token is checked against its policy (and refused when enforcing).
func (c *policyChecker) withPolicies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Header.Get("X-Amz-Security-Token")
		if _, ok := c.policies[token]; !ok {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if err != nil {
			http.Error(w, "read request", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		denied := c.check(token, r.Header.Get("X-Amz-Target"), body)
		if len(denied) == 0 || !c.enforce {
			next.ServeHTTP(w, r)
			return
		}
		d := denied[0]
		msg := fmt.Sprintf("User: arn:aws:sts::000000000000:assumed-role/%s-role/%s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
			d.FunctionID, d.FunctionID, d.Action, d.Resource, d.Action)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazon.coral.service#AccessDeniedException", "Message": msg})
	})
}

// PolicyDenials returns the DynamoDB requests of functions that their policies did not allow,
// in order.
func (s *Stack) PolicyDenials() []Denial {
	if s.iam == nil {
		return nil
	}
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	return slices.Clone(s.iam.denials)
}
