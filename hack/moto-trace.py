"""Lists the files moto_server loads to serve the services irsa-local
forwards (SQS, SNS, DynamoDB, Secrets Manager, SSM, KMS) and its own API:
hack/moto-image.sh copies the packages they belong to into an image."""
import sys, os, json
os.environ.setdefault("MOTO_ACCOUNT_ID", "000000000000")
from moto.server import ThreadedMotoServer
srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
srv.start()
host, port = srv.get_host_and_port()
import boto3
kw = dict(endpoint_url=f"http://{host}:{port}", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
q = boto3.client("sqs", **kw); u = q.create_queue(QueueName="q")["QueueUrl"]; q.send_message(QueueUrl=u, MessageBody="x"); q.get_queue_attributes(QueueUrl=u, AttributeNames=["Policy"])
t = boto3.client("sns", **kw).create_topic(Name="t")["TopicArn"]; boto3.client("sns", **kw).get_topic_attributes(TopicArn=t)
d = boto3.client("dynamodb", **kw); d.create_table(TableName="t", AttributeDefinitions=[{"AttributeName":"k","AttributeType":"S"}], KeySchema=[{"AttributeName":"k","KeyType":"HASH"}], BillingMode="PAY_PER_REQUEST"); d.get_item(TableName="t", Key={"k":{"S":"a"}}); d.query(TableName="t", KeyConditionExpression="k = :v", ExpressionAttributeValues={":v":{"S":"a"}})
s = boto3.client("secretsmanager", **kw); s.create_secret(Name="s", SecretString="x"); s.get_secret_value(SecretId="s")
p = boto3.client("ssm", **kw); p.put_parameter(Name="/a/b", Value="x", Type="String"); p.get_parameters_by_path(Path="/a")
k = boto3.client("kms", **kw); kid = k.create_key()["KeyMetadata"]["KeyId"]; c = k.encrypt(KeyId=kid, Plaintext=b"x")["CiphertextBlob"]; k.decrypt(CiphertextBlob=c); k.get_key_policy(KeyId=kid, PolicyName="default")
import urllib.request; urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST")).read()
urllib.request.urlopen(f"http://{host}:{port}/moto-api/data.json").read()
srv.stop()
files = sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})
print("\n".join(files))
