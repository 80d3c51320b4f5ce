using System.CommandLine;
using Pipeline.Cli;
using Pipeline.Cli.Commands;
using Pipeline.Cli.Demo;

var root = new RootCommand("bgpipe: image background removal behind AWS-style event source mappings.");
root.Subcommands.Add(Pipeline.Cli.Backlog.BacklogCommand.Create());
root.Subcommands.Add(RemoveCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(Pipeline.Cli.Hosting.RunCommand.Create());
root.Subcommands.Add(ProvisionCommand.Create());
root.Subcommands.Add(Pipeline.Cli.Tools.ReplayCommand.Create());
root.Subcommands.Add(Pipeline.Cli.Tools.InvokeCommand.Create());
root.Subcommands.Add(Pipeline.Cli.Tools.DlqCommand.Create());

try
{
    ParseResult parse = root.Parse(args);
    if (parse.Errors.Count > 0)
    {
        foreach (System.CommandLine.Parsing.ParseError error in parse.Errors)
        {
            await Console.Error.WriteLineAsync($"bgpipe: {error.Message}");
        }

        await Console.Error.WriteLineAsync("Run 'bgpipe --help' for usage.");
        return ExitCodes.Usage;
    }

    var invocation = new InvocationConfiguration
    {
        // Ctrl+C / SIGTERM cancel the command's token; give in-flight images time to finish before the process is
        // ended (the default, 2 s, is shorter than one image on a busy machine).
        ProcessTerminationTimeout = TimeSpan.FromSeconds(60),

        // Errors are reported as one line below, never as a stack trace.
        EnableDefaultExceptionHandler = false,
    };
    return await parse.InvokeAsync(invocation);
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
{
    await Console.Error.WriteLineAsync($"bgpipe: {ex.Message}");
    return ExitCodes.Infrastructure;
}
catch (Exception ex) when (ex is not OperationCanceledException)
{
    await Console.Error.WriteLineAsync($"bgpipe: unexpected error: {ex.GetType().Name}: {ex.Message}");
    return ExitCodes.Infrastructure;
}
