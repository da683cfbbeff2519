// Command fn is the local stack's test function. As an HTTP API function it
// answers with the event it received (and a few special paths); as an S3
// function it copies each event into the bucket under seen/<key>.json; given a
// schedule's event (source aws.events or aws.scheduler, or an input with
// "record") it copies it into $SEEN_BUCKET under seen/schedules/<request id>.json;
// given an SNS event it copies it into $SEEN_BUCKET under sns-seen/<request id>.json;
// as anything else it echoes its event.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"sectorhub/shared/dynamo"
	"sectorhub/shared/objects"
)

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		RouteKey string `json:"routeKey"`
		Records  []struct {
			EventSource string `json:"EventSource"`
		} `json:"Records"`
		Action string `json:"action"`
		Source string `json:"source"`
		Record string `json:"record"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, err
	}
	switch {
	case probe.RouteKey != "":
		return web(raw)
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sns":
		return nil, record(ctx, "sns-seen/", raw)
	case probe.Records != nil:
		return nil, upload(ctx, raw)
	case probe.Action == "fail":
		return nil, errors.New("asked to fail")
	case probe.Source == "aws.events" || probe.Source == "aws.scheduler" || probe.Record != "":
		return nil, record(ctx, "seen/schedules/", raw)
	}
	return map[string]any{"invoked": true, "event": raw}, nil
}

func web(raw json.RawMessage) (any, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	switch ev.RawPath {
	case "/items/raw":
		return map[string]string{"plain": "json"}, nil
	case "/items/fail":
		return nil, errors.New("asked to fail")
	case "/items/b64":
		return events.APIGatewayV2HTTPResponse{
			StatusCode:      201,
			Headers:         map[string]string{"Content-Type": "application/octet-stream"},
			Body:            base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 'b', 'i', 'n'}),
			IsBase64Encoded: true,
		}, nil
	case "/items/cookie":
		return events.APIGatewayV2HTTPResponse{
			StatusCode: 200,
			Headers:    map[string]string{"Content-Type": "text/plain", "Access-Control-Allow-Origin": "https://evil.example", "ETag": `"v1"`},
			Cookies:    []string{"a=1; Path=/", "b=2; HttpOnly"},
			Body:       "cookies",
		}, nil
	case "/items/put":
		// PutItem pk=<?pk> sk=item into TABLE_NAME: its policy allows ITEM#* only.
		_, err := dynamo.NewClient(os.Getenv).PutItem(context.Background(), &dynamodb.PutItemInput{
			TableName: aws.String(os.Getenv("TABLE_NAME")),
			Item: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: ev.QueryStringParameters["pk"]},
				"sk": &types.AttributeValueMemberS{Value: "item"},
			},
		})
		if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
			return events.APIGatewayV2HTTPResponse{StatusCode: 403, Body: apiErr.ErrorCode()}, nil
		}
		if err != nil {
			return nil, err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "put"}, nil
	case "/items/env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		body, err := json.Marshal(env)
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(body)}, err
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json", "X-Route": ev.RouteKey},
		Body:       string(raw),
	}, nil
}

func upload(ctx context.Context, raw json.RawMessage) error {
	var ev events.S3Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return err
	}
	client := objects.NewClient(os.Getenv) // the functions' own S3 client (path style locally)
	for _, rec := range ev.Records {
		key, err := url.QueryUnescape(rec.S3.Object.Key)
		if err != nil {
			return err
		}
		if strings.Contains(key, "fail") {
			return errors.New("asked to fail on " + key)
		}
		_, err = client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(rec.S3.Bucket.Name),
			Key:    aws.String("seen/" + key + ".json"),
			Body:   bytes.NewReader(raw),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// record copies an event into $SEEN_BUCKET under prefix, named by the invocation's request ID.
func record(ctx context.Context, prefix string, raw json.RawMessage) error {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return errors.New("no Lambda context")
	}
	_, err := objects.NewClient(os.Getenv).PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(os.Getenv("SEEN_BUCKET")),
		Key:    aws.String(prefix + lc.AwsRequestID + ".json"),
		Body:   bytes.NewReader(raw),
	})
	return err
}

func main() {
	lambda.Start(handle)
}
