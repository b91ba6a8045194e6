// One round trip of the AWS SDK for JavaScript v3 against ServiceManager's
// App Runner endpoint: create a service, describe it, and have a refused
// pause surface as the SDK's InvalidStateException. Prints what it saw as one
// JSON object; tests/aws/aws_clients_test.py (JsSdkTest) checks it.
//   node round_trip.js http://127.0.0.1:PORT
'use strict';

const {
  AppRunnerClient,
  CreateServiceCommand,
  DescribeServiceCommand,
  InvalidStateException,
  PauseServiceCommand,
} = require('@aws-sdk/client-apprunner');

async function main() {
  const client = new AppRunnerClient({
    endpoint: process.argv[2],
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
  const created = await client.send(new CreateServiceCommand({
    ServiceName: `js-${process.pid}`,
    SourceConfiguration: {
      ImageRepository: {
        ImageIdentifier: 'public.ecr.aws/nginx/nginx:latest',
        ImageRepositoryType: 'ECR_PUBLIC',
      },
    },
  }));
  const arn = created.Service.ServiceArn;
  const described = await client.send(new DescribeServiceCommand({ ServiceArn: arn }));
  let refused = null;
  try {
    // The create is still in progress (or just ended): pause it twice, so
    // that the second is refused either way.
    await client.send(new PauseServiceCommand({ ServiceArn: arn }));
    await client.send(new PauseServiceCommand({ ServiceArn: arn }));
  } catch (error) {
    refused = {
      name: error.name,
      isInvalidState: error instanceof InvalidStateException,
      httpStatusCode: error.$metadata.httpStatusCode,
      message: error.message,
    };
  }
  console.log(JSON.stringify({
    arn,
    operationId: created.OperationId,
    createdStatus: created.Service.Status,
    createdAtIsDate: created.Service.CreatedAt instanceof Date,
    describedName: described.Service.ServiceName,
    requestId: described.$metadata.requestId,
    refused,
  }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
