using System.ComponentModel;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using OpenAI;
using RealtimeAgents.Agents;
using RealtimeAgents.Server;

// Your own Agent Framework agent behind the hub: OPENAI_API_KEY=sk-… dotnet run, then submit to
// agent "travel". Booking a hotel waits for a person: the stream shows tool.approval, and
// RespondToApproval (hub), POST /tasks/{id}/approvals/{toolCallId} (HTTP) or the SDKs answer it.
var builder = RealtimeAgentsServer.CreateBuilder(args, b => b.Services.AddAgent("travel", _ =>
{
    string key = b.Configuration["OPENAI_API_KEY"] ?? throw new InvalidOperationException("Set OPENAI_API_KEY.");
    IChatClient model = new OpenAIClient(key).GetChatClient(b.Configuration["OPENAI_MODEL"] ?? "gpt-4o-mini").AsIChatClient();
    return new ChatClientAgent(model,
        instructions: "You are a travel agent. Check the weather, and book hotels with book_hotel when asked.",
        name: "travel",
        tools: [AIFunctionFactory.Create(Weather, "get_weather"),
                new ApprovalRequiredAIFunction(AIFunctionFactory.Create(BookHotel, "book_hotel"))]);
}));
await RealtimeAgentsServer.Build(builder).RunAsync();

[Description("The weather forecast for a city.")]
static string Weather(string city) => $"Sunny and 24°C in {city}.";

[Description("Books a hotel room in a city for a number of nights. A person approves it first.")]
static string BookHotel(string city, int nights) => $"Booked {nights} nights in {city}.";
