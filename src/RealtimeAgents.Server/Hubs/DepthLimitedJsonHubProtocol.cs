using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using RealtimeAgents.Core;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// SignalR's JSON protocol with <see cref="JsonInput.MaxDepth"/> applied to each argument. The
/// plain protocol fails to parse a message nested past its reader's depth (64, counting the
/// envelope) and closes the whole connection, every subscription on it included; here such an
/// invocation gets the same invalid_argument refusal REST gives, and the connection goes on.
/// Task events go out as their own JSON bytes (<see cref="EventFrames"/>).
/// </summary>
public sealed class DepthLimitedJsonHubProtocol(IOptions<JsonHubProtocolOptions> options) : IHubProtocol
{
    private const byte RecordSeparator = 0x1e;
    // The envelope object and its "arguments" array sit above each argument.
    private const int EnvelopeDepth = 2;

    private readonly JsonHubProtocol _inner = new(options);

    /// <inheritdoc />
    public string Name => _inner.Name;

    /// <inheritdoc />
    public int Version => _inner.Version;

    /// <inheritdoc />
    public TransferFormat TransferFormat => _inner.TransferFormat;

    /// <inheritdoc />
    public bool IsVersionSupported(int version) => _inner.IsVersionSupported(version);

    /// <inheritdoc />
    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message)
    {
        return EventFrames.TryGetJson(message) ?? _inner.GetMessageBytes(message);
    }

    /// <inheritdoc />
    public void WriteMessage(HubMessage message, IBufferWriter<byte> output)
    {
        if (!EventFrames.TryWriteJson(message, output)) _inner.WriteMessage(message, output);
    }

    /// <inheritdoc />
    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message)
    {
        if (input.PositionOf(RecordSeparator) is { } end)
        {
            var payload = input.Slice(0, end);
            if (JsonInput.DepthOf(payload) - EnvelopeDepth > JsonInput.MaxDepth)
            {
                var (invocationId, target) = Envelope(payload);
                input = input.Slice(input.GetPosition(1, end));
                message = new InvocationBindingFailureMessage(invocationId, target ?? "",
                    ExceptionDispatchInfo.Capture(new HubException($"{ErrorCodes.InvalidArgument}: {JsonInput.TooDeepMessage}")));
                return true;
            }
        }
        return _inner.TryParseMessage(ref input, binder, out message);
    }

    /// <summary>The invocation id and target of a message, read without descending into its arguments.</summary>
    private static (string? InvocationId, string? Target) Envelope(ReadOnlySequence<byte> payload)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = int.MaxValue / 2 });
        string? invocationId = null, target = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return (null, null);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string? name = reader.GetString();
            if (!reader.Read()) break;
            if (reader.TokenType == JsonTokenType.String && name == "invocationId") invocationId = reader.GetString();
            else if (reader.TokenType == JsonTokenType.String && name == "target") target = reader.GetString();
            else reader.Skip();
        }
        return (invocationId, target);
    }
}
