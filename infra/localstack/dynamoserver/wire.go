package dynamoserver

import (
	"bytes"
	"encoding/json"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	minidyn "github.com/truora/minidyn/server"
)

// item is an item or a key as DynamoDB writes it. minidyn's own encoding
// leaves an empty list or map out ({}), which loses its type; item keeps it:
// {"L":[]}, {"M":{}}.
type item map[string]*minidyn.AttributeValue

func (it item) MarshalJSON() ([]byte, error) {
	return json.Marshal(toWire(it))
}

// value is an attribute value as DynamoDB writes it. B, L and M are pointers
// so that an empty binary, list or map is written, and only an absent one is
// left out.
type value struct {
	B    *[]byte            `json:"B,omitempty"`
	BOOL *bool              `json:"BOOL,omitempty"`
	BS   [][]byte           `json:"BS,omitempty"`
	L    *[]*value          `json:"L,omitempty"`
	M    *map[string]*value `json:"M,omitempty"`
	N    *string            `json:"N,omitempty"`
	NS   []*string          `json:"NS,omitempty"`
	NULL *bool              `json:"NULL,omitempty"`
	S    *string            `json:"S,omitempty"`
	SS   []*string          `json:"SS,omitempty"`
}

func toWire(it map[string]*minidyn.AttributeValue) map[string]*value {
	out := make(map[string]*value, len(it))
	for name, v := range it {
		out[name] = toWireValue(v)
	}
	return out
}

func toWireValue(v *minidyn.AttributeValue) *value {
	if v == nil {
		return nil
	}
	out := &value{BOOL: v.BOOL, BS: v.BS, N: v.N, NS: v.NS, NULL: v.NULL, S: v.S, SS: v.SS}
	if v.B != nil {
		out.B = &v.B
	}
	if v.L != nil {
		list := make([]*value, len(v.L))
		for i, e := range v.L {
			list[i] = toWireValue(e)
		}
		out.L = &list
	}
	if v.M != nil {
		m := toWire(v.M)
		out.M = &m
	}
	return out
}

// clone returns a copy of it that shares no memory with it. A value the
// engine returns may share memory with its stored item, which a later write
// can change.
func (it item) clone() item {
	if it == nil {
		return nil
	}
	out := make(item, len(it))
	for name, v := range it {
		out[name] = cloneValue(v)
	}
	return out
}

func cloneValue(v *minidyn.AttributeValue) *minidyn.AttributeValue {
	if v == nil {
		return nil
	}
	out := &minidyn.AttributeValue{
		B: bytes.Clone(v.B), BOOL: clonePointer(v.BOOL), N: clonePointer(v.N), NULL: clonePointer(v.NULL), S: clonePointer(v.S),
		NS: cloneStrings(v.NS), SS: cloneStrings(v.SS),
	}
	if v.BS != nil {
		out.BS = make([][]byte, len(v.BS))
		for i, b := range v.BS {
			out.BS[i] = bytes.Clone(b)
		}
	}
	if v.L != nil {
		out.L = make([]*minidyn.AttributeValue, len(v.L))
		for i, e := range v.L {
			out.L[i] = cloneValue(e)
		}
	}
	out.M = item(v.M).clone()
	return out
}

func clonePointer[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneStrings(ss []*string) []*string {
	if ss == nil {
		return nil
	}
	out := make([]*string, len(ss))
	for i, s := range ss {
		out[i] = clonePointer(s)
	}
	return out
}

// fromSDK returns the SDK's attribute values m (in the engine's errors) as
// an item.
func fromSDK(m map[string]ddbtypes.AttributeValue) item {
	if m == nil {
		return nil
	}
	out := make(item, len(m))
	for name, v := range m {
		out[name] = fromSDKValue(v)
	}
	return out
}

func fromSDKValue(v ddbtypes.AttributeValue) *minidyn.AttributeValue {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return &minidyn.AttributeValue{S: &v.Value}
	case *ddbtypes.AttributeValueMemberN:
		return &minidyn.AttributeValue{N: &v.Value}
	case *ddbtypes.AttributeValueMemberB:
		return &minidyn.AttributeValue{B: v.Value}
	case *ddbtypes.AttributeValueMemberBOOL:
		return &minidyn.AttributeValue{BOOL: &v.Value}
	case *ddbtypes.AttributeValueMemberNULL:
		return &minidyn.AttributeValue{NULL: &v.Value}
	case *ddbtypes.AttributeValueMemberSS:
		return &minidyn.AttributeValue{SS: pointers(v.Value)}
	case *ddbtypes.AttributeValueMemberNS:
		return &minidyn.AttributeValue{NS: pointers(v.Value)}
	case *ddbtypes.AttributeValueMemberBS:
		return &minidyn.AttributeValue{BS: v.Value}
	case *ddbtypes.AttributeValueMemberL:
		list := make([]*minidyn.AttributeValue, len(v.Value))
		for i, e := range v.Value {
			list[i] = fromSDKValue(e)
		}
		return &minidyn.AttributeValue{L: list}
	case *ddbtypes.AttributeValueMemberM:
		return &minidyn.AttributeValue{M: fromSDK(v.Value)}
	}
	return nil
}

func pointers(ss []string) []*string {
	out := make([]*string, len(ss))
	for i := range ss {
		out[i] = &ss[i]
	}
	return out
}
