using Prox.Hosting;

return await Cli.RunAsync(args);
