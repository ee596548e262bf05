# syntax=docker/dockerfile:1
# The `extauthz` image: `extauthz serve` and the other commands, run as the image's non-root app user.
#   docker build -t extauthz:0.1.0 .
# The build context is only what the publish needs (.dockerignore); k8s/ runs this image beside Envoy.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
# The cache mount keeps restored packages between builds without a layer per project file.
RUN --mount=type=cache,id=extauthz-nuget,target=/root/.nuget/packages \
    dotnet publish src/ExtAuthz -c Release -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
# The aspnet images' unprivileged user (UID 1654); k8s/deployment.yaml runs the container as it.
USER $APP_UID
# Check gRPC, MQTT gate tunnel, admin (probes, metrics). `serve` binds the first two to loopback
# unless told otherwise (--listen, --mqtt-tunnel), as in the pod, where Envoy is beside it.
EXPOSE 9191 9192 9193
ENTRYPOINT ["dotnet", "/app/ExtAuthz.dll"]
CMD ["serve"]
