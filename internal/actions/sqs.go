package actions

import (
	"context"
	"net/url"
	"strings"
)

// sqsActions maps SQS operations to their IAM action where the two differ:
// the batch operations are authorized as the single ones.
var sqsActions = map[string]string{
	"SendMessageBatch":             "SendMessage",
	"DeleteMessageBatch":           "DeleteMessage",
	"ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}

// sqsQueueOps take a QueueUrl and act on that queue.
var sqsQueueOps = set("SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
	"ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "GetQueueAttributes", "SetQueueAttributes",
	"DeleteQueue", "PurgeQueue", "ListQueueTags", "TagQueue", "UntagQueue", "AddPermission", "RemovePermission",
	"ListDeadLetterSourceQueues")

// sqsPolicyOps may change a queue's policy, or the queue itself.
var sqsPolicyOps = set("CreateQueue", "DeleteQueue", "SetQueueAttributes", "AddPermission", "RemovePermission")

func sqsModel(_ context.Context, p *parsed, _ Resolver) error {
	op := p.call.Operation
	action := "sqs:" + op
	if a, ok := sqsActions[op]; ok {
		action = "sqs:" + a
	}
	p.call.Changes = sqsPolicyOps[op]
	switch {
	case sqsQueueOps[op]:
		u, err := p.need("QueueUrl")
		if err != nil {
			return err
		}
		arn, err := p.queueARN(u)
		if err != nil {
			return err
		}
		p.call.Params["queueUrl"] = u
		p.add(action, arn, nil)
	case op == "CreateQueue" || op == "GetQueueUrl":
		name, err := p.need("QueueName")
		if err != nil {
			return err
		}
		account := p.req.Account
		if owner := p.str("QueueOwnerAWSAccountId"); owner != "" {
			account = owner
		}
		p.call.Params["queueName"] = name
		p.add(action, "arn:aws:sqs:"+p.req.Region+":"+account+":"+name, nil)
	case op == "ListQueues":
		p.add(action, "*", nil)
	case op == "StartMessageMoveTask" || op == "ListMessageMoveTasks":
		src, err := p.need("SourceArn")
		if err != nil {
			return err
		}
		p.add(action, src, nil)
	default:
		return p.unmodeled()
	}
	return nil
}

// queueARN turns a queue URL (http://host/<account>/<name>) into the
// queue's ARN. The region is the one in an AWS host name, else the
// caller's.
func (p *parsed) queueARN(queueURL string) (string, error) {
	u, err := url.Parse(queueURL)
	if err != nil {
		return "", &Error{Code: "InvalidAddress", Message: "The address " + queueURL + " is not valid for this endpoint."}
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || !isAccount(parts[0]) || parts[1] == "" {
		return "", &Error{Code: "InvalidAddress", Message: "The address " + queueURL + " is not valid for this endpoint."}
	}
	region := p.req.Region
	if labels := strings.Split(u.Hostname(), "."); len(labels) >= 4 && labels[0] == "sqs" && strings.HasSuffix(u.Hostname(), ".amazonaws.com") {
		region = labels[1]
	}
	return "arn:aws:sqs:" + region + ":" + parts[0] + ":" + parts[1], nil
}

func isAccount(s string) bool {
	return len(s) == 12 && strings.Trim(s, "0123456789") == ""
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
