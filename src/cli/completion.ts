/** Shell completion scripts (bash, zsh via bashcompinit, fish), generated from the command tree. */
import type { CommandSpec } from './command.js';
import type { FlagSpec } from './spec.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export const isShell = (s: string): s is Shell => (SHELLS as readonly string[]).includes(s);

export interface CompletionCommand {
  path: readonly string[];
  flags: readonly FlagSpec[];
}

export function completionCommands(
  commands: readonly CommandSpec[],
  globals: (c: CommandSpec) => FlagSpec[],
): CompletionCommand[] {
  return commands.map((c) => ({ path: c.path, flags: [...c.flags, ...globals(c)] }));
}

function bash(cmds: readonly CompletionCommand[]): string {
  const children = new Map<string, Set<string>>();
  for (const c of cmds) {
    for (let i = 0; i < c.path.length; i++) {
      const parent = c.path.slice(0, i).join(' ');
      const set = children.get(parent) ?? new Set<string>();
      set.add(c.path[i] ?? '');
      children.set(parent, set);
    }
  }
  children.get('')?.add('completion').add('help');
  const valueFlags = [
    ...new Set(cmds.flatMap((c) => c.flags.filter((f) => f.kind === 'string').map((f) => `--${f.name}`))),
  ];
  const cases = [
    ...[...children].map(([path, words]) => `    "${path}") words="${[...words].join(' ')}" ;;`),
    ...cmds.map((c) => `    "${c.path.join(' ')}") words="${c.flags.map((f) => `--${f.name}`).join(' ')}" ;;`),
    '    "completion") words="bash zsh fish" ;;',
  ];
  return `# awrit completion for bash (zsh: autoload -U +X bashcompinit && bashcompinit first)
_awrit() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path="" skip=0 w i words=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    case $w in
      ${valueFlags.join('|')}) skip=1 ;;
      -*) ;;
      *) path="\${path:+$path }$w" ;;
    esac
  done
  ((skip)) && { COMPREPLY=($(compgen -f -- "$cur")); return; }
  case $path in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _awrit awrit
`;
}

function fish(cmds: readonly CompletionCommand[]): string {
  const lines = ['# awrit completion for fish', 'complete -c awrit -f'];
  const top = [...new Set(cmds.map((c) => c.path[0] ?? '')), 'completion', 'help'];
  lines.push(`complete -c awrit -n __fish_use_subcommand -a '${top.join(' ')}'`);
  const groups = new Map<string, string[]>();
  for (const c of cmds) {
    if (c.path.length === 2) groups.set(c.path[0] ?? '', [...(groups.get(c.path[0] ?? '') ?? []), c.path[1] ?? '']);
  }
  for (const [group, subs] of groups) {
    lines.push(
      `complete -c awrit -n '__fish_seen_subcommand_from ${group}; and not __fish_seen_subcommand_from ${subs.join(' ')}' -a '${subs.join(' ')}'`,
    );
  }
  for (const c of cmds) {
    const leaf = c.path[c.path.length - 1] ?? '';
    for (const f of c.flags) {
      const quoted = f.help.replace(/'/g, "\\'");
      lines.push(
        `complete -c awrit -n '__fish_seen_subcommand_from ${leaf}' -l ${f.name}${f.kind === 'string' ? ' -r' : ''} -d '${quoted}'`,
      );
    }
  }
  lines.push("complete -c awrit -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'");
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, cmds: readonly CompletionCommand[]): string {
  if (shell === 'fish') return fish(cmds);
  const script = bash(cmds);
  return shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${script}` : script;
}
