package dynamoserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	minidyn "github.com/truora/minidyn/server"
)

// valueType returns the DynamoDB type of v: S, N, B, BOOL, NULL, L, M, SS, NS or BS.
func valueType(v *minidyn.AttributeValue) string {
	switch {
	case v == nil:
		return ""
	case v.S != nil:
		return "S"
	case v.N != nil:
		return "N"
	case v.B != nil:
		return "B"
	case v.BOOL != nil:
		return "BOOL"
	case v.NULL != nil:
		return "NULL"
	case v.L != nil:
		return "L"
	case v.M != nil:
		return "M"
	case v.SS != nil:
		return "SS"
	case v.NS != nil:
		return "NS"
	case v.BS != nil:
		return "BS"
	}
	return ""
}

func isSet(typ string) bool { return typ == "SS" || typ == "NS" || typ == "BS" }

// equalValues reports whether a and b are the same value (both nil included).
func equalValues(a, b *minidyn.AttributeValue) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, errA := json.Marshal(toWireValue(a))
	jb, errB := json.Marshal(toWireValue(b))
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

var numberSyntax = regexp.MustCompile(`^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$`)

// decimal is a number as DynamoDB keeps it: exact, unscaled × 10^-scale.
type decimal struct {
	unscaled *big.Int
	scale    int
}

func parseDecimal(s string) (decimal, error) {
	m := numberSyntax.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || m[2]+m[3] == "" {
		return decimal{}, fmt.Errorf("a number in the update expression is not valid: %q", s)
	}
	unscaled, _ := new(big.Int).SetString(m[2]+m[3], 10)
	if m[1] == "-" {
		unscaled.Neg(unscaled)
	}
	scale := len(m[3])
	if m[4] != "" {
		exp, err := strconv.Atoi(m[4])
		if err != nil || exp > 1000 || exp < -1000 {
			return decimal{}, fmt.Errorf("a number in the update expression is out of range: %q", s)
		}
		scale -= exp
	}
	if scale < 0 {
		unscaled.Mul(unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil))
		scale = 0
	}
	return decimal{unscaled, scale}, nil
}

func (d decimal) rescale(scale int) *big.Int {
	return new(big.Int).Mul(d.unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.scale)), nil))
}

func (d decimal) String() string {
	digits := new(big.Int).Abs(d.unscaled).String()
	if d.scale > 0 {
		if len(digits) <= d.scale {
			digits = strings.Repeat("0", d.scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-d.scale] + "." + digits[len(digits)-d.scale:]
	}
	if d.unscaled.Sign() < 0 {
		return "-" + digits
	}
	return digits
}

// addNumbers returns a + b exactly, with as many decimals as the one that has most (as
// DynamoDB Local answers: 2 + 0.10 is 2.10).
func addNumbers(a, b string) (string, error) {
	x, err := parseDecimal(a)
	if err != nil {
		return "", err
	}
	y, err := parseDecimal(b)
	if err != nil {
		return "", err
	}
	scale := max(x.scale, y.scale)
	return decimal{new(big.Int).Add(x.rescale(scale), y.rescale(scale)), scale}.String(), nil
}

// setKeys returns, for each element of the set v, the key that says which elements are equal
// (numbers by value), in v's order.
func setKeys(v *minidyn.AttributeValue) []string {
	var keys []string
	switch {
	case v.SS != nil:
		for _, s := range v.SS {
			keys = append(keys, *s)
		}
	case v.NS != nil:
		for _, n := range v.NS {
			key := *n
			if d, err := parseDecimal(*n); err == nil {
				key = new(big.Rat).SetFrac(d.unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.scale)), nil)).RatString()
			}
			keys = append(keys, key)
		}
	default:
		for _, b := range v.BS {
			keys = append(keys, string(b))
		}
	}
	return keys
}

// setUnion returns the set of the elements of a, then those of b that a lacks.
func setUnion(a, b *minidyn.AttributeValue) *minidyn.AttributeValue {
	out := cloneValue(a)
	have := map[string]bool{}
	for _, k := range setKeys(a) {
		have[k] = true
	}
	for i, k := range setKeys(b) {
		if have[k] {
			continue
		}
		have[k] = true
		switch {
		case b.SS != nil:
			out.SS = append(out.SS, clonePointer(b.SS[i]))
		case b.NS != nil:
			out.NS = append(out.NS, clonePointer(b.NS[i]))
		default:
			out.BS = append(out.BS, bytes.Clone(b.BS[i]))
		}
	}
	return out
}

// setDifference returns the set of the elements of a that b lacks, nil when none is left.
func setDifference(a, b *minidyn.AttributeValue) *minidyn.AttributeValue {
	drop := map[string]bool{}
	for _, k := range setKeys(b) {
		drop[k] = true
	}
	out := &minidyn.AttributeValue{}
	n := 0
	for i, k := range setKeys(a) {
		if drop[k] {
			continue
		}
		n++
		switch {
		case a.SS != nil:
			out.SS = append(out.SS, clonePointer(a.SS[i]))
		case a.NS != nil:
			out.NS = append(out.NS, clonePointer(a.NS[i]))
		default:
			out.BS = append(out.BS, bytes.Clone(a.BS[i]))
		}
	}
	if n == 0 {
		return nil
	}
	return out
}

// toSDK returns it as the SDK's attribute values (for the engine's error types).
func toSDK(it item) map[string]ddbtypes.AttributeValue {
	if it == nil {
		return nil
	}
	out := make(map[string]ddbtypes.AttributeValue, len(it))
	for name, v := range it {
		if sv := toSDKValue(v); sv != nil {
			out[name] = sv
		}
	}
	return out
}

func toSDKValue(v *minidyn.AttributeValue) ddbtypes.AttributeValue {
	switch valueType(v) {
	case "S":
		return &ddbtypes.AttributeValueMemberS{Value: *v.S}
	case "N":
		return &ddbtypes.AttributeValueMemberN{Value: *v.N}
	case "B":
		return &ddbtypes.AttributeValueMemberB{Value: bytes.Clone(v.B)}
	case "BOOL":
		return &ddbtypes.AttributeValueMemberBOOL{Value: *v.BOOL}
	case "NULL":
		return &ddbtypes.AttributeValueMemberNULL{Value: *v.NULL}
	case "L":
		list := make([]ddbtypes.AttributeValue, 0, len(v.L))
		for _, e := range v.L {
			if se := toSDKValue(e); se != nil {
				list = append(list, se)
			}
		}
		return &ddbtypes.AttributeValueMemberL{Value: list}
	case "M":
		return &ddbtypes.AttributeValueMemberM{Value: toSDK(v.M)}
	case "SS":
		return &ddbtypes.AttributeValueMemberSS{Value: values(v.SS)}
	case "NS":
		return &ddbtypes.AttributeValueMemberNS{Value: values(v.NS)}
	case "BS":
		list := make([][]byte, len(v.BS))
		for i, b := range v.BS {
			list[i] = bytes.Clone(b)
		}
		return &ddbtypes.AttributeValueMemberBS{Value: list}
	}
	return nil
}

func values(ps []*string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}
