import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

// The REST half of the interface as OpenAPI, generated from the controllers and DTOs. The socket.io
// events are described in docs/api.md and the contract.
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Webchat recording service')
    .setDescription('Flow and admin REST of the webchat recording service. Every route takes a bearer JWT; errors are {statusCode, code, message}.')
    .setVersion('1')
    .addBearerAuth()
    .build();
  return SwaggerModule.createDocument(app, config);
}
