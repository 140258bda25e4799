using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace RealtimeAgents.Backplane.Tests;

/// <summary>The JSON hub protocol under another name, counting how often it serializes a message.</summary>
public sealed class CountingProtocol(string name) : IHubProtocol
{
    private readonly JsonHubProtocol _json = new();
    private int _serializations;

    public int Serializations => Volatile.Read(ref _serializations);

    public string Name => name;

    public int Version => 1;

    public TransferFormat TransferFormat => TransferFormat.Text;

    public bool IsVersionSupported(int version) => version == Version;

    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message) =>
        _json.TryParseMessage(ref input, binder, out message);

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output)
    {
        Interlocked.Increment(ref _serializations);
        _json.WriteMessage(message, output);
    }

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message)
    {
        Interlocked.Increment(ref _serializations);
        return _json.GetMessageBytes(message);
    }
}
