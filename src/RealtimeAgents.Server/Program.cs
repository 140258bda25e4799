using RealtimeAgents.Server;

var app = RealtimeAgentsServer.Build(RealtimeAgentsServer.CreateBuilder(args));
await app.RunAsync().ConfigureAwait(false);
