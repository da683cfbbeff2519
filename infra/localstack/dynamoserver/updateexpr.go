package dynamoserver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/truora/minidyn/interpreter/language"
	minidyn "github.com/truora/minidyn/server"
)

// The engine applies an update expression wrongly: it ignores REMOVE of a top-level attribute
// and ADD or DELETE on a nested path, keeps a set that DELETE empties, lets a SET read what a
// REMOVE before it has removed, knows the clauses' keywords in capitals only, and computes in
// floating point, writing every number of the item back rounded to 17 digits. So parseUpdate
// takes the expression apart and updateItem gives the engine only the SET actions whose value
// is computed (a + :n, if_not_exists(...), list_append(...), another attribute), then puts
// back every top-level attribute those do not set, and applies the other actions itself:
// REMOVE, ADD, DELETE and SET of a placeholder's value.

// pathElement is one step of a document path: an attribute or map key, or a list index.
type pathElement struct {
	name    string
	index   int
	isIndex bool
}

// docPath is a document path, top-level attribute first, names resolved.
type docPath []pathElement

func (p docPath) String() string {
	parts := make([]string, len(p))
	for i, e := range p {
		if e.isIndex {
			parts[i] = "[" + strconv.Itoa(e.index) + "]"
		} else {
			parts[i] = e.name
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// overlaps reports whether one of p and q is a prefix of the other.
func (p docPath) overlaps(q docPath) bool {
	n := min(len(p), len(q))
	return slices.Equal(p[:n], q[:n])
}

// updateAction is an action the server applies.
type updateAction struct {
	kind  string // language.SET, language.REMOVE, language.ADD or language.DELETE
	path  docPath
	value string // the operand's placeholder (SET, ADD and DELETE)
}

// updatePlan is an update expression taken apart.
type updatePlan struct {
	engineSet  []string        // the SET actions the engine applies, as it is to read them
	engineTops map[string]bool // the top-level attributes those set
	actions    []updateAction  // the other actions, in the order written
	paths      []docPath       // the path of every action, in the order written
}

// errUnparsed is parseUpdate's answer for an expression it cannot take apart: the engine is
// given it whole, to refuse it in its own words.
var errUnparsed = fmt.Errorf("update expression not taken apart")

// parseUpdate takes expr apart into its clauses and actions, resolving names by names. It
// answers DynamoDB's ValidationException for a repeated clause, an undefined name placeholder,
// overlapping paths and a key attribute updated (keys), and errUnparsed for anything else
// it does not follow.
func parseUpdate(expr string, names map[string]string, keys []string) (*updatePlan, error) {
	var tokens []language.Token
	for lx := language.NewLexer(expr); ; {
		tok := lx.NextToken()
		if tok.Type == language.EOF {
			break
		}
		if tok.Type == language.ILLEGAL {
			return nil, errUnparsed
		}
		tokens = append(tokens, tok)
	}
	plan := &updatePlan{engineTops: map[string]bool{}}
	seen := map[string]bool{}
	for len(tokens) > 0 {
		kind := clauseKeyword(tokens[0])
		if kind == "" {
			return nil, errUnparsed
		}
		if seen[kind] {
			return nil, validationError(fmt.Sprintf("Invalid UpdateExpression: The %q section can only be used once in an update expression;", kind))
		}
		seen[kind] = true
		end := 1
		for end < len(tokens) && clauseKeyword(tokens[end]) == "" {
			end++
		}
		actions := splitActions(tokens[1:end])
		if actions == nil {
			return nil, errUnparsed
		}
		for _, act := range actions {
			if err := plan.add(kind, act, names); err != nil {
				return nil, err
			}
		}
		tokens = tokens[end:]
	}
	if len(plan.paths) == 0 {
		return nil, errUnparsed
	}
	for i, p := range plan.paths {
		if slices.Contains(keys, p[0].name) {
			return nil, validationError(fmt.Sprintf("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", p[0].name))
		}
		for _, q := range plan.paths[i+1:] {
			if p.overlaps(q) {
				return nil, validationError(fmt.Sprintf("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: %s, path two: %s", p, q))
			}
		}
	}
	return plan, nil
}

// clauseKeyword returns the clause tok starts (SET, REMOVE, ADD or DELETE, in any case, as
// DynamoDB takes them), "" for none.
func clauseKeyword(tok language.Token) string {
	switch kw := strings.ToUpper(tok.Literal); kw {
	case language.SET, language.REMOVE, language.ADD, language.DELETE:
		if tok.Type == language.IDENT || string(tok.Type) == kw {
			return kw
		}
	}
	return ""
}

// splitActions splits a clause's tokens at its commas outside parentheses; nil when an
// action is empty.
func splitActions(tokens []language.Token) [][]language.Token {
	var out [][]language.Token
	depth, start := 0, 0
	for i, tok := range tokens {
		switch tok.Type {
		case language.LPAREN:
			depth++
		case language.RPAREN:
			depth--
		case language.COMMA:
			if depth == 0 {
				out = append(out, tokens[start:i])
				start = i + 1
			}
		}
	}
	out = append(out, tokens[start:])
	for _, act := range out {
		if len(act) == 0 {
			return nil
		}
	}
	return out
}

func (plan *updatePlan) add(kind string, tokens []language.Token, names map[string]string) error {
	pathTokens := tokens
	var value string
	engine := false
	switch kind {
	case language.SET:
		eq := slices.IndexFunc(tokens, func(t language.Token) bool { return t.Type == language.EQ })
		if eq < 1 || eq == len(tokens)-1 {
			return errUnparsed
		}
		pathTokens = tokens[:eq]
		if right := tokens[eq+1:]; len(right) == 1 && right[0].Type == language.IDENT && strings.HasPrefix(right[0].Literal, ":") {
			value = right[0].Literal
			break
		}
		engine = true
		literals := make([]string, len(tokens))
		for i, t := range tokens {
			literals[i] = t.Literal
		}
		plan.engineSet = append(plan.engineSet, strings.Join(literals, " "))
	case language.ADD, language.DELETE:
		last := tokens[len(tokens)-1]
		if len(tokens) < 2 || last.Type != language.IDENT || !strings.HasPrefix(last.Literal, ":") {
			return errUnparsed
		}
		pathTokens, value = tokens[:len(tokens)-1], last.Literal
	}
	path, err := parsePath(pathTokens, names)
	if err != nil {
		return err
	}
	plan.paths = append(plan.paths, path)
	if engine {
		plan.engineTops[path[0].name] = true
	} else {
		plan.actions = append(plan.actions, updateAction{kind: kind, path: path, value: value})
	}
	return nil
}

// parsePath reads a document path: a name, then .name and [index] steps.
func parsePath(tokens []language.Token, names map[string]string) (docPath, error) {
	name := func(tok language.Token) (string, error) {
		if tok.Type != language.IDENT || strings.HasPrefix(tok.Literal, ":") {
			return "", errUnparsed
		}
		if !strings.HasPrefix(tok.Literal, "#") {
			return tok.Literal, nil
		}
		resolved, ok := names[tok.Literal]
		if !ok {
			return "", validationError("Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: " + tok.Literal)
		}
		return resolved, nil
	}
	first, err := name(tokens[0])
	if err != nil {
		return nil, err
	}
	path := docPath{{name: first}}
	for i := 1; i < len(tokens); {
		switch {
		case tokens[i].Type == language.DOT && i+1 < len(tokens):
			n, err := name(tokens[i+1])
			if err != nil {
				return nil, err
			}
			path = append(path, pathElement{name: n})
			i += 2
		case tokens[i].Type == language.LBRACKET && i+2 < len(tokens) && tokens[i+2].Type == language.RBRACKET:
			index, err := strconv.Atoi(tokens[i+1].Literal)
			if err != nil || index < 0 {
				return nil, errUnparsed
			}
			path = append(path, pathElement{index: index, isIndex: true})
			i += 3
		default:
			return nil, errUnparsed
		}
	}
	return path, nil
}

// get returns the value at p in it.
func get(it item, p docPath) (*minidyn.AttributeValue, bool) {
	v, ok := it[p[0].name]
	for _, e := range p[1:] {
		if !ok || v == nil {
			return nil, false
		}
		switch {
		case e.isIndex && v.L != nil && e.index < len(v.L):
			v = v.L[e.index]
		case !e.isIndex && v.M != nil:
			v, ok = v.M[e.name]
		default:
			return nil, false
		}
	}
	return v, ok && v != nil
}

// slot is where a path's value is or would go: a key of a map (an item's top level
// included), or a position in a list.
type slot struct {
	m     map[string]*minidyn.AttributeValue
	key   string
	list  *minidyn.AttributeValue // the list's value, whose L the slot is in
	index int
}

// locate returns the slot of p in it; false when the path's parent is missing or of another
// type than the path needs.
func locate(it item, p docPath) (slot, bool) {
	last := p[len(p)-1]
	if len(p) == 1 {
		return slot{m: it, key: last.name}, true
	}
	parent, ok := get(it, p[:len(p)-1])
	switch {
	case !ok:
		return slot{}, false
	case last.isIndex && parent.L != nil:
		return slot{list: parent, index: last.index}, true
	case !last.isIndex && parent.M != nil:
		return slot{m: parent.M, key: last.name}, true
	}
	return slot{}, false
}

func (sl slot) get() *minidyn.AttributeValue {
	if sl.list != nil {
		if sl.index < len(sl.list.L) {
			return sl.list.L[sl.index]
		}
		return nil
	}
	return sl.m[sl.key]
}

// set stores v in the slot; a list position past the end appends, as DynamoDB does.
func (sl slot) set(v *minidyn.AttributeValue) {
	switch {
	case sl.list == nil:
		sl.m[sl.key] = v
	case sl.index < len(sl.list.L):
		sl.list.L[sl.index] = v
	default:
		sl.list.L = append(sl.list.L, v)
	}
}

var errInvalidPath = validationError("The document path provided in the update expression is invalid for update")

// apply carries out the actions of plan that the engine does not on it, with the operands in
// values. Their paths overlap neither one another nor the engine's, so each reads what it
// changes as it was before the update.
func (plan *updatePlan) apply(it item, values map[string]*minidyn.AttributeValue) error {
	type removal struct {
		list    *minidyn.AttributeValue
		indexes []int
	}
	var removals []*removal // list positions, removed last, from the end
	for _, a := range plan.actions {
		sl, ok := locate(it, a.path)
		if !ok {
			return errInvalidPath
		}
		cur := sl.get()
		switch a.kind {
		case language.REMOVE:
			switch {
			case sl.list == nil:
				delete(sl.m, sl.key)
			case cur != nil:
				i := slices.IndexFunc(removals, func(r *removal) bool { return r.list == sl.list })
				if i < 0 {
					removals = append(removals, &removal{list: sl.list})
					i = len(removals) - 1
				}
				removals[i].indexes = append(removals[i].indexes, sl.index)
			}
		case language.SET, language.ADD, language.DELETE:
			operand, ok := values[a.value]
			if !ok || operand == nil {
				return validationError("Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: " + a.value)
			}
			if a.kind == language.SET {
				sl.set(cloneValue(operand))
				continue
			}
			next, err := addOrDelete(a.kind, cur, operand)
			if err != nil {
				return err
			}
			if next != nil {
				sl.set(next)
				continue
			}
			if cur == nil {
				continue
			}
			// DELETE emptied the set: DynamoDB keeps no empty set.
			if sl.list == nil {
				delete(sl.m, sl.key)
			} else {
				sl.list.L = slices.Delete(sl.list.L, sl.index, sl.index+1)
			}
		}
	}
	for _, r := range removals {
		slices.Sort(r.indexes)
		r.indexes = slices.Compact(r.indexes)
		for _, i := range slices.Backward(r.indexes) {
			r.list.L = slices.Delete(r.list.L, i, i+1)
		}
	}
	return nil
}

// addOrDelete returns the value an ADD or DELETE (kind) of operand makes of cur (nil: none),
// nil when it leaves nothing.
func addOrDelete(kind string, cur, operand *minidyn.AttributeValue) (*minidyn.AttributeValue, error) {
	typ := valueType(operand)
	allowed := isSet(typ) || (kind == language.ADD && typ == "N")
	if !allowed {
		return nil, validationError(fmt.Sprintf("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: %s, operand type: %s, typeSet: ALLOWED_FOR_%s_OPERAND",
			kind, operandTypeNames[typ], kind))
	}
	if cur == nil {
		if kind == language.DELETE {
			return nil, nil
		}
		return cloneValue(operand), nil
	}
	if valueType(cur) != typ {
		return nil, validationError("An operand in the update expression has an incorrect data type")
	}
	if typ == "N" {
		sum, err := addNumbers(*cur.N, *operand.N)
		if err != nil {
			return nil, validationError(err.Error())
		}
		return &minidyn.AttributeValue{N: &sum}, nil
	}
	if kind == language.ADD {
		return setUnion(cur, operand), nil
	}
	return setDifference(cur, operand), nil
}

// operandTypeNames are the names DynamoDB gives attribute types in its errors.
var operandTypeNames = map[string]string{
	"S": "STRING", "N": "NUMBER", "B": "BINARY", "BOOL": "BOOLEAN", "NULL": "NULL", "L": "LIST", "M": "MAP",
	"SS": "STRING_SET", "NS": "NUMBER_SET", "BS": "BINARY_SET",
}

// returnValues returns the attributes an UpdateItem answers for rv, old the item before it
// (nil: none) and updated after. For UPDATED_OLD and UPDATED_NEW these are, as DynamoDB Local
// answers, the whole top-level attribute of each action's path, when the path is in the item.
func (plan *updatePlan) returnValues(rv string, old, updated item) item {
	var out item
	switch rv {
	case "ALL_OLD":
		out = old
	case "ALL_NEW":
		out = updated
	case "UPDATED_OLD", "UPDATED_NEW":
		from := old
		if rv == "UPDATED_NEW" {
			from = updated
		}
		out = item{}
		for _, p := range plan.paths {
			if _, ok := get(from, p); ok {
				out[p[0].name] = from[p[0].name]
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out.clone()
}
