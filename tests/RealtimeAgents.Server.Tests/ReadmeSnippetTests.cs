using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace RealtimeAgents.Server.Tests;

/// <summary>
/// The README's C# blocks, as a newcomer copies them: each becomes the Program.cs of a fresh
/// console app (outside this repo's build settings) with a project reference to the .NET SDK,
/// is built, and runs against a real server (the README's localhost:5080 is pointed at it).
/// </summary>
public sealed partial class ReadmeSnippetTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RealtimeAgents.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("RealtimeAgents.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^```(?:csharp|cs|c#)\n(?<code>.*?)^```$", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex CSharpBlock();

    [Fact]
    public async Task EveryCSharpBlockOfTheReadme_BuildsAsAConsoleApp_AndRunsToItsEnd()
    {
        string repo = RepoRoot();
        var blocks = CSharpBlock().Matches(await File.ReadAllTextAsync(Path.Combine(repo, "README.md"))).Select(m => m.Groups["code"].Value).ToList();
        Assert.NotEmpty(blocks);
        string baseUrl = server.HubUrl.GetLeftPart(UriPartial.Authority);
        for (int i = 0; i < blocks.Count; i++)
        {
            string dir = Directory.CreateTempSubdirectory("readme-cs-").FullName;
            try
            {
                File.Copy(Path.Combine(repo, "NuGet.config"), Path.Combine(dir, "NuGet.config"));
                File.Copy(Path.Combine(repo, "global.json"), Path.Combine(dir, "global.json"));
                await File.WriteAllTextAsync(Path.Combine(dir, "ReadmeBlock.csproj"), $"""
                    <Project Sdk="Microsoft.NET.Sdk">
                      <PropertyGroup>
                        <OutputType>Exe</OutputType>
                        <TargetFramework>net10.0</TargetFramework>
                        <ImplicitUsings>enable</ImplicitUsings>
                        <Nullable>enable</Nullable>
                        <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                      </PropertyGroup>
                      <ItemGroup>
                        <ProjectReference Include="{Path.Combine(repo, "clients", "dotnet", "RealtimeAgents.Client", "RealtimeAgents.Client.csproj")}" />
                      </ItemGroup>
                    </Project>
                    """);
                await File.WriteAllTextAsync(Path.Combine(dir, "Program.cs"), blocks[i].Replace("http://localhost:5080", baseUrl, StringComparison.Ordinal));
                var build = await RunAsync("dotnet", ["build", "-nologo", "-v", "quiet", "-o", Path.Combine(dir, "out")], dir, TimeSpan.FromMinutes(4));
                Assert.True(build.ExitCode == 0, $"README C# block {i} does not build:\n{build.Output}\n{blocks[i]}");
                var ran = await RunAsync("dotnet", [Path.Combine(dir, "out", "ReadmeBlock.dll")], dir, TimeSpan.FromSeconds(60));
                Assert.True(ran.ExitCode == 0, $"README C# block {i} failed:\n{ran.Output}");
                if (blocks[i].Contains("InterruptAsync", StringComparison.Ordinal))
                {
                    Assert.StartsWith("Here is a 4-day plan for Kyoto.", ran.Output, StringComparison.Ordinal);
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task DotnetPack_GivesTheSdkAndItsContractsAsNuGetPackages()
    {
        string repo = RepoRoot();
        string dir = Directory.CreateTempSubdirectory("readme-pack-").FullName;
        try
        {
            // The README's two commands.
            foreach (string project in (string[])[Path.Combine("src", "RealtimeAgents.Contracts"), Path.Combine("clients", "dotnet", "RealtimeAgents.Client")])
            {
                var pack = await RunAsync("dotnet", ["pack", Path.Combine(repo, project), "-nologo", "-v", "quiet", "-o", dir], repo, TimeSpan.FromMinutes(4));
                Assert.True(pack.ExitCode == 0, pack.Output);
            }
            var packages = Directory.GetFiles(dir, "*.nupkg").Select(Path.GetFileName).Order().ToList();
            Assert.Equal(["RealtimeAgents.Client.0.1.0.nupkg", "RealtimeAgents.Contracts.0.1.0.nupkg"], packages);
            using var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(dir, "RealtimeAgents.Client.0.1.0.nupkg"));
            Assert.Contains(zip.Entries, e => e.FullName == "lib/net10.0/RealtimeAgents.Client.dll");
            Assert.Contains(zip.Entries, e => e.FullName == "lib/net10.0/RealtimeAgents.Client.xml");
            using var nuspec = new StreamReader(zip.GetEntry("RealtimeAgents.Client.nuspec")!.Open());
            Assert.Matches("<dependency id=\"RealtimeAgents.Contracts\" version=\"0.1.0\"", await nuspec.ReadToEndAsync());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, string cwd, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(psi)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            return (-1, $"timed out after {timeout}:\n{output}");
        }
        process.WaitForExit(); // drains the redirected streams
        lock (output) return (process.ExitCode, output.ToString());
    }
}
