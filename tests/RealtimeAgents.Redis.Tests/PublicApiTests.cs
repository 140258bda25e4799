using System.Reflection;
using System.Text;

namespace RealtimeAgents.Redis.Tests;

/// <summary>
/// The public surface is kept small on purpose: this test lists it and compares with PublicApi.approved.txt,
/// so a change to it is a visible diff in review. To accept a change, set REDIS_API_APPROVE=1 and run once.
/// </summary>
public class PublicApiTests
{
    [Fact]
    public void PublicSurface_MatchesTheApprovedList()
    {
        string actual = Describe(typeof(RedisClient).Assembly);
        string path = Path.Combine(FindProjectDirectory(), "PublicApi.approved.txt");
        if (Environment.GetEnvironmentVariable("REDIS_API_APPROVE") == "1")
        {
            File.WriteAllText(path, actual);
        }

        string approved = File.Exists(path) ? File.ReadAllText(path) : string.Empty;
        Assert.Equal(approved.ReplaceLineEndings("\n"), actual);
    }

    private static string Describe(Assembly assembly)
    {
        var lines = new List<string>();
        foreach (Type type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            lines.Add($"{Kind(type)} {type.FullName}");
            const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (MemberInfo member in type.GetMembers(flags))
            {
                string? text = member switch
                {
                    MethodInfo m when (!m.IsSpecialName || m.Name.StartsWith("op_", StringComparison.Ordinal)) && !IsRecordNoise(type, m) => $"  {(m.IsStatic ? "static " : "")}{Name(m.ReturnType)} {m.Name}({Parameters(m)})",
                    ConstructorInfo c when !type.IsEnum => $"  ctor({Parameters(c)})",
                    PropertyInfo p when !IsRecordNoise(type, p) => $"  {Name(p.PropertyType)} {p.Name}",
                    EventInfo e => $"  event {Name(e.EventHandlerType!)} {e.Name}",
                    FieldInfo f when type.IsEnum && f.IsStatic => $"  {f.Name}",
                    _ => null,
                };
                if (text is not null)
                {
                    lines.Add(text);
                }
            }
        }

        // Members sorted within their type, so reflection order does not matter.
        var sb = new StringBuilder();
        foreach (IGrouping<string, string> group in Group(lines))
        {
            sb.Append(group.Key).Append('\n');
            foreach (string member in group.Order(StringComparer.Ordinal))
            {
                sb.Append(member).Append('\n');
            }
        }

        return sb.ToString();
    }

    private static IEnumerable<IGrouping<string, string>> Group(List<string> lines)
    {
        string current = string.Empty;
        var pairs = new List<(string Owner, string Member)>();
        var owners = new List<string>();
        foreach (string line in lines)
        {
            if (!line.StartsWith(' '))
            {
                current = line;
                owners.Add(line);
            }
            else
            {
                pairs.Add((current, line));
            }
        }

        return owners.Select(o => new Grouping(o, pairs.Where(p => p.Owner == o).Select(p => p.Member).ToList()));
    }

    private static bool IsRecordNoise(Type type, MemberInfo member) =>
        type.GetMethod("<Clone>$") is not null && member.Name is "EqualityContract" or "<Clone>$" or "Deconstruct" or "PrintMembers"
            or "Equals" or "GetHashCode" or "ToString" or "op_Equality" or "op_Inequality";

    private static string Kind(Type type) =>
        type.IsEnum ? "enum" : type.IsValueType ? "struct" : type.IsInterface ? "interface" : type.IsAbstract && type.IsSealed ? "static class" : "class";

    private static string Parameters(MethodBase method) =>
        string.Join(", ", method.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    private static string Name(Type type)
    {
        if (type.IsGenericType)
        {
            string name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
            return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(Name))}>";
        }

        return type.IsByRef ? Name(type.GetElementType()!) + "&" : type.Name;
    }

    private static string FindProjectDirectory()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "RealtimeAgents.Redis.Tests.csproj")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("Test project directory not found.");
    }

    private sealed class Grouping(string key, List<string> members) : IGrouping<string, string>
    {
        public string Key { get; } = key;

        public IEnumerator<string> GetEnumerator() => members.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
