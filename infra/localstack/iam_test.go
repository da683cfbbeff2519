package localstack

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"sectorhub/infra/samtemplate"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"MAIL#*", "MAIL#bulletin-confirm-1", true},
		{"MAIL#*", "MAIL#", true},
		{"MAIL#*", "MAILBOX", false},
		{"EVENTS", "EVENTS", true},
		{"EVENTS", "EVENTS#1", false},
		{"arn:aws:dynamodb:*:*:table/t", "arn:aws:dynamodb:eu-west-2:000000000000:table/t", true},
		{"arn:aws:dynamodb:r:a:table/t/index/*", "arn:aws:dynamodb:r:a:table/t/index/gsi2", true},
		{"arn:aws:dynamodb:r:a:table/t", "arn:aws:dynamodb:r:a:table/t/index/gsi2", false},
		{"*", "", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*#*#x", "A#B#C#x", true},
		{"[a]", "a", false}, // no character classes in IAM
		{"[a]", "[a]", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %t; want %t", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestConditionHolds(t *testing.T) {
	sub := []string{"SUB#*", "SUBEMAIL#*"}
	tests := []struct {
		name     string
		operator string
		values   []string
		keys     []string
		want     bool
	}{
		{"all of several keys", "ForAllValues:StringLike", sub, []string{"SUB#1", "SUBEMAIL#ab"}, true},
		{"one key outside", "ForAllValues:StringLike", sub, []string{"SUB#1", "MAIL#x"}, false},
		{"no key at all (a Scan)", "ForAllValues:StringLike", sub, nil, true},
		{"any of several", "ForAnyValue:StringLike", sub, []string{"MAIL#x", "SUB#1"}, true},
		{"any of none", "ForAnyValue:StringLike", sub, nil, false},
		{"equals", "ForAllValues:StringEquals", []string{"EVENTS"}, []string{"EVENTS"}, true},
		{"equals is not like", "ForAllValues:StringEquals", []string{"SUB#*"}, []string{"SUB#1"}, false},
		{"equals ignoring case", "ForAllValues:StringEqualsIgnoreCase", []string{"events"}, []string{"EVENTS"}, true},
		{"not like", "ForAllValues:StringNotLike", []string{"IMPORT#*"}, []string{"SUB#1"}, true},
		{"single-valued, one key", "StringLike", sub, []string{"SUB#1"}, true},
		{"single-valued, two keys", "StringLike", sub, []string{"SUB#1", "SUB#2"}, false},
		{"unknown operator", "ForAllValues:NumericEquals", []string{"1"}, []string{"1"}, false},
	}
	for _, tt := range tests {
		cond := policyCondition{operator: tt.operator, key: "dynamodb:leadingkeys", values: tt.values}
		if got := cond.holds(tt.keys); got != tt.want {
			t.Errorf("%s: %s %v holds for %v = %t; want %t", tt.name, tt.operator, tt.values, tt.keys, got, tt.want)
		}
	}
}

// checkerFor returns the checker of a template of one table (pk, sk; gsi2 on gsi2pk) and one
// function, Fn, with the given policy statements (YAML, indented under Statement:).
func checkerFor(t *testing.T, statements string) *policyChecker {
	t.Helper()
	tmpl, err := samtemplate.Parse("test.yaml", []byte(`Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: gsi2pk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: gsi2
          KeySchema:
            - {AttributeName: gsi2pk, KeyType: HASH}
          Projection: {ProjectionType: ALL}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Policies:
        - Statement:
`+statements))
	if err != nil {
		t.Fatal(err)
	}
	names, err := tmpl.LocalNames(func(id string) string { return "t" })
	if err != nil {
		t.Fatal(err)
	}
	c, err := newPolicyChecker(tmpl, names, func(string) string { return "t" }, false, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const table = "arn:aws:dynamodb:eu-west-2:000000000000:table/t"

func TestAuthorizations(t *testing.T) {
	c := checkerFor(t, "")
	tests := []struct {
		op, body string
		want     []authorization
	}{
		{"GetItem", `{"TableName":"t","Key":{"pk":{"S":"SUB#1"},"sk":{"S":"SUB"}}}`,
			[]authorization{{"dynamodb:GetItem", "t", "", []string{"SUB#1"}}}},
		{"PutItem", `{"TableName":"t","Item":{"pk":{"S":"MAIL#a"},"sk":{"S":"MAIL"},"n":{"N":"1"}}}`,
			[]authorization{{"dynamodb:PutItem", "t", "", []string{"MAIL#a"}}}},
		{"Query", `{"TableName":"t","IndexName":"gsi2","KeyConditionExpression":"#0 = :0 AND #1 <= :1","ExpressionAttributeNames":{"#0":"gsi2pk","#1":"gsi2sk"},"ExpressionAttributeValues":{":0":{"S":"BULLETIN_DUE"},":1":{"S":"2026"}}}`,
			[]authorization{{"dynamodb:Query", "t", "gsi2", []string{"BULLETIN_DUE"}}}},
		{"Query", `{"TableName":"t","KeyConditionExpression":"begins_with(#1, :1) AND :0 = pk","ExpressionAttributeNames":{"#1":"sk"},"ExpressionAttributeValues":{":0":{"S":"BULLETIN#2026-12-01"},":1":{"S":"R#"}}}`,
			[]authorization{{"dynamodb:Query", "t", "", []string{"BULLETIN#2026-12-01"}}}},
		{"Query", `{"TableName":"t","KeyConditions":{"pk":{"AttributeValueList":[{"S":"CASESTUDIES"}],"ComparisonOperator":"EQ"}}}`,
			[]authorization{{"dynamodb:Query", "t", "", []string{"CASESTUDIES"}}}},
		{"Scan", `{"TableName":"t"}`, []authorization{{"dynamodb:Scan", "t", "", nil}}},
		{"BatchGetItem", `{"RequestItems":{"t":{"Keys":[{"pk":{"S":"SUBEMAIL#b"},"sk":{"S":"SUBEMAIL"}},{"pk":{"S":"SUB#1"},"sk":{"S":"SUB"}},{"pk":{"S":"SUB#1"},"sk":{"S":"X"}}]}}}`,
			[]authorization{{"dynamodb:BatchGetItem", "t", "", []string{"SUB#1", "SUBEMAIL#b"}}}},
		{"BatchWriteItem", `{"RequestItems":{"t":[{"PutRequest":{"Item":{"pk":{"S":"BULLETIN#1"},"sk":{"S":"R#a"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"DIRECTORY#x"},"sk":{"S":"y"}}}}]}}`,
			[]authorization{{"dynamodb:BatchWriteItem", "t", "", []string{"BULLETIN#1", "DIRECTORY#x"}}}},
		{"TransactWriteItems", `{"TransactItems":[{"Update":{"TableName":"t","Key":{"pk":{"S":"BULLETIN#1"},"sk":{"S":"R#a"}}}},{"ConditionCheck":{"TableName":"t","Key":{"pk":{"S":"SUB#a"},"sk":{"S":"SUB"}}}},{"Put":{"TableName":"t","Item":{"pk":{"S":"MAIL#m"},"sk":{"S":"MAIL"}}}},{"Delete":{"TableName":"t","Key":{"pk":{"S":"E#1"},"sk":{"S":"L"}}}}]}`,
			[]authorization{
				{"dynamodb:UpdateItem", "t", "", []string{"BULLETIN#1"}},
				{"dynamodb:ConditionCheckItem", "t", "", []string{"SUB#a"}},
				{"dynamodb:PutItem", "t", "", []string{"MAIL#m"}},
				{"dynamodb:DeleteItem", "t", "", []string{"E#1"}},
			}},
		{"DescribeTable", `{"TableName":"t"}`, []authorization{{"dynamodb:DescribeTable", "t", "", nil}}},
	}
	for _, tt := range tests {
		got, err := c.authorizations(tt.op, []byte(tt.body))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("authorizations(%s, %s) = %+v, %v; want %+v", tt.op, tt.body, got, err, tt.want)
		}
	}
}

func TestPolicyCheck(t *testing.T) {
	c := checkerFor(t, `            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:PutItem]
              Resource: !GetAtt Table.Arn
              Condition:
                ForAllValues:StringLike:
                  dynamodb:LeadingKeys: [SUB#*, SUBEMAIL#*]
            - Effect: Allow
              Action: dynamodb:Query
              Resource: !Sub "${Table.Arn}/index/gsi2"
              Condition:
                ForAllValues:StringLike:
                  dynamodb:LeadingKeys: [SUBSCRIBED]
            - Effect: Allow
              Action: dynamodb:Update*
              Resource: !GetAtt Table.Arn
            - Effect: Deny
              Action: dynamodb:UpdateItem
              Resource: !GetAtt Table.Arn
              Condition:
                ForAllValues:StringLike:
                  dynamodb:LeadingKeys: [IMPORT#*]
            - Sid: Tagged
              Effect: Allow
              Action: dynamodb:DeleteItem
              Resource: !GetAtt Table.Arn
              Condition:
                StringEquals:
                  aws:ResourceTag/app: sectorhub
`)
	token := sessionToken("Fn")
	tests := []struct {
		name, op, body string
		want           []Denial
	}{
		{"get a subscriber", "GetItem", `{"TableName":"t","Key":{"pk":{"S":"SUB#1"},"sk":{"S":"SUB"}}}`, nil},
		{"get a mail", "GetItem", `{"TableName":"t","Key":{"pk":{"S":"MAIL#1"},"sk":{"S":"MAIL"}}}`,
			[]Denial{{"Fn", "dynamodb:GetItem", table, []string{"MAIL#1"}}}},
		{"query the subscribed", "Query", `{"TableName":"t","IndexName":"gsi2","KeyConditionExpression":"#0 = :0","ExpressionAttributeNames":{"#0":"gsi2pk"},"ExpressionAttributeValues":{":0":{"S":"SUBSCRIBED"}}}`, nil},
		{"query the table", "Query", `{"TableName":"t","KeyConditionExpression":"#0 = :0","ExpressionAttributeNames":{"#0":"pk"},"ExpressionAttributeValues":{":0":{"S":"SUB#1"}}}`,
			[]Denial{{"Fn", "dynamodb:Query", table, []string{"SUB#1"}}}},
		{"transaction with a condition check", "TransactWriteItems", `{"TransactItems":[{"Put":{"TableName":"t","Item":{"pk":{"S":"SUB#1"},"sk":{"S":"SUB"}}}},{"ConditionCheck":{"TableName":"t","Key":{"pk":{"S":"SUB#2"},"sk":{"S":"SUB"}}}}]}`,
			[]Denial{{"Fn", "dynamodb:ConditionCheckItem", table, []string{"SUB#2"}}}},
		{"update by wildcard action", "UpdateItem", `{"TableName":"t","Key":{"pk":{"S":"BULLETIN#1"},"sk":{"S":"ISSUE"}}}`, nil},
		{"update denied", "UpdateItem", `{"TableName":"t","Key":{"pk":{"S":"IMPORT#1"},"sk":{"S":"IMPORT"}}}`,
			[]Denial{{"Fn", "dynamodb:UpdateItem", table, []string{"IMPORT#1"}}}},
		{"batch with one key outside", "BatchGetItem", `{"RequestItems":{"t":{"Keys":[{"pk":{"S":"SUB#1"},"sk":{"S":"SUB"}},{"pk":{"S":"MAIL#1"},"sk":{"S":"MAIL"}}]}}}`,
			[]Denial{{"Fn", "dynamodb:BatchGetItem", table, []string{"MAIL#1", "SUB#1"}}}},
		{"a condition not evaluated locally never allows", "DeleteItem", `{"TableName":"t","Key":{"pk":{"S":"SUB#1"},"sk":{"S":"SUB"}}}`,
			[]Denial{{"Fn", "dynamodb:DeleteItem", table, []string{"SUB#1"}}}},
	}
	for _, tt := range tests {
		got := c.check(token, "DynamoDB_20120810."+tt.op, []byte(tt.body))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: check = %+v; want %+v", tt.name, got, tt.want)
		}
	}
	if got := c.check("local", "DynamoDB_20120810.DeleteTable", []byte(`{"TableName":"t"}`)); got != nil {
		t.Errorf("a request without a function's token: check = %+v; want it not checked", got)
	}
}

// TestPoliciesAtRuntime: a function's DynamoDB request outside its template policy is reported
// (and the request goes through), or, with EnforcePolicies, refused with AccessDeniedException;
// one inside it is neither.
func TestPoliciesAtRuntime(t *testing.T) {
	for _, enforce := range []bool{false, true} {
		opts := testOptions(t)
		opts.EnforcePolicies = enforce
		st := startStack(t, opts)
		tests := []struct {
			pk         string
			wantStatus int
			wantBody   string
			denied     bool
		}{
			{"ITEM#1", 200, "put", false},
			{"OTHER#1", 200, "put", true},
		}
		for _, tt := range tests {
			if enforce && tt.denied {
				tt.wantStatus, tt.wantBody = 403, "AccessDeniedException"
			}
			before := len(st.PolicyDenials())
			r := do(t, http.MethodGet, st.URL()+"/items/put?pk="+strings.ReplaceAll(tt.pk, "#", "%23"), nil, nil)
			if r.status != tt.wantStatus || string(r.body) != tt.wantBody {
				t.Errorf("enforce %t: put %s = %d %s; want %d %s", enforce, tt.pk, r.status, r.body, tt.wantStatus, tt.wantBody)
			}
			got := st.PolicyDenials()[before:]
			want := []Denial(nil)
			if tt.denied {
				want = []Denial{{"WebFunction", "dynamodb:PutItem", "arn:aws:dynamodb:eu-west-2:000000000000:table/sectorhub-local-Table", []string{tt.pk}}}
			}
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("enforce %t: put %s: denials %+v; want %+v", enforce, tt.pk, got, want)
			}
		}
		if !strings.Contains(st.log.String(), "iam | WebFunction may not dynamodb:PutItem on arn:aws:dynamodb:eu-west-2:000000000000:table/sectorhub-local-Table with leading keys OTHER#…") {
			t.Errorf("enforce %t: the log lacks the denial:\n%s", enforce, st.log)
		}
	}
}
