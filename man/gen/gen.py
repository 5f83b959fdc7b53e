#!/usr/bin/env python3
"""Generate /work/main/man/postern.5 from lib/config_params.c, the
descriptions in desc.py and the restriction table of smtpd_restrict.c."""
import re, sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import desc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
src = open(ROOT + '/lib/config_params.c').read()
# Strip comments, then join the table's entries.
body = src[src.index('config_params[] = {'):src.index('{ NULL, NULL')]
body = re.sub(r'/\*.*?\*/', '', body, flags=re.S)
entries = []
for m in re.finditer(r'\b(S|I|T|B|L|LATER)\(\s*"([^"]+)"\s*,\s*((?:NULL|[A-Z_]+|"(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*))\s*(?:,\s*([^)]*))?\)', body):
    kind, name, d, extra = m.groups()
    if d == 'NULL':
        default = None
    elif re.fullmatch(r'[A-Z_]+', d):
        default = '/usr/local/lib/postern'
    else:
        default = ''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', d))
        if 'POSTERN_LIBEXEC' in d:
            pass
    entries.append((kind, name, default, extra))
# daemon_directory uses the macro POSTERN_LIBEXEC
for i, (k, n, d, e) in enumerate(entries):
    pass
names = [e[1] for e in entries]
tparams = re.findall(r'\b[IT]\(\s*"\*_([a-z_]+)"\s*,\s*\n?\s*"([^"]*)"', src)

problems = []
for kind, name, default, extra in entries:
    if kind == 'LATER':
        if name not in desc.LATER:
            problems.append('no LATER text: ' + name)
    elif name not in desc.D:
        problems.append('no description: ' + name)
for n in list(desc.D) + list(desc.LATER):
    if n not in names:
        problems.append('described but not in table: ' + n)
for n in desc.D:
    if n in desc.LATER:
        problems.append('both: ' + n)
for kind, name, default, extra in entries:
    if kind == 'LATER' and name in desc.D:
        problems.append('LATER but described as active: ' + name)

def sentences(t):
    # One sentence per line, as roff wants (correct sentence spacing).
    return re.sub(r'([.?!]) (?=[A-Z]|postern\b|smtpd\b|[0-9]|\\f[BI][A-Za-z$]|\\\(lq)', r'\1\n', t)

def esc(s):
    s = s.replace('\\', '\\e')
    s = s.replace('-', '\\-')
    return s

def default_text(name, default):
    if default is None:
        return '\\fR(computed)'
    if default == '':
        return '\\fR(empty)'
    return esc(default)

out = []
w = out.append
w(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'head.roff')).read().rstrip('\n'))

# Restrictions
rsrc = ''
try:
    rsrc = open(ROOT + '/smtpd/smtpd_restrict.c').read()
except OSError:
    pass
rnames = re.findall(r'\{\s*"([a-z_]+)",\s*smtpd_[a-z_]+,\s*(true|false)\s*\}', rsrc)
w(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'restrict.roff')).read().rstrip('\n'))
import rdesc
for rn, takes in rnames:
    if rn not in rdesc.R:
        problems.append('no restriction text: ' + rn)
        continue
for rn in rdesc.R:
    if rn not in [x[0] for x in rnames]:
        problems.append('restriction described but not implemented: ' + rn)
for rn in rdesc.ORDER:
    if rn not in dict(rnames):
        continue
    takes = dict(rnames)[rn] == 'true'
    w('.TP')
    if takes:
        w('.BI %s " type:table"' % rn)
    else:
        w('.B %s' % rn)
    w(rdesc.R[rn])
w(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'access.roff')).read().rstrip('\n'))

w('.SH PARAMETERS')
w('Each entry shows the name and the default value.')
w('Where a parameter means what it means in Postfix, the text gives Postfix\'s meaning;')
w('differences are said.')
for g in desc.GROUPS:
    items = [e for e in entries if e[0] != 'LATER' and e[1] in desc.D and desc.D[e[1]][0] == g]
    if not items:
        continue
    w('.SS ' + g)
    for kind, name, default, extra in items:
        w('.TP')
        w('\\fB%s\\fR = \\fI%s\\fR' % (esc(name), default_text(name, default)))
        w(sentences(desc.D[name][1]))
w('.SS Per-transport parameters')
w('For each transport (a master.cf service name of lower-case letters, digits and')
w('underscores) these names exist without being listed in')
w('.IR main.cf ;')
w('their default is the general parameter.')
w('.TP')
tdesc = {
 'destination_concurrency_limit': 'Parallel deliveries to one destination of this transport.',
 'destination_recipient_limit': 'Recipients per delivery request of this transport.\nWith 1 the destination is the recipient, not the domain (local).',
 'initial_destination_concurrency': 'The starting concurrency of a new destination.',
 'destination_rate_delay': 'The pause between deliveries to one destination.',
 'time_limit': 'The time limit of one delivery by this transport.',
 'destination_concurrency_failed_cohort_limit': 'Failed deliveries in a row at concurrency one after which a destination of this transport counts as dead.',
}
first = True
for suffix, d in tparams:
    if not first:
        w('.TP')
    first = False
    w('\\fItransport\\fB_%s\\fR = \\fI%s\\fR' % (esc(suffix), esc(d)))
    if suffix not in tdesc:
        problems.append('no transport text: ' + suffix)
    w(tdesc.get(suffix, ''))
w('.SH ACCEPTED BUT NOT YET ACTED ON')
w('These parameters are part of many Postfix configurations.')
w('postern accepts them so that')
w('such a')
w('.I main.cf')
w('keeps working, but does nothing with them yet:')
w('.B postern check')
w('and the daemons log a warning for each one that is set')
w('(\\(lq\\fIname\\fP is not implemented in postern yet and has no effect\\(rq).')
w('The text says what each will do, as in Postfix.')
for kind, name, default, extra in entries:
    if kind != 'LATER':
        continue
    w('.TP')
    w('\\fB%s\\fR = \\fI%s\\fR' % (esc(name), default_text(name, default)))
    w(sentences(desc.LATER.get(name, '')))
w(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'tail.roff')).read().rstrip('\n'))

text = '\n'.join(out) + '\n'
# Sanity: no line may start with ' or . unless a request
for i, line in enumerate(text.split('\n')):
    if line.startswith("'"):
        problems.append('line starts with quote: %d' % (i + 1))
open(ROOT + '/man/postern.5', 'w').write(text)
print('%d parameters, %d later, %d restrictions' % (len(entries), sum(1 for e in entries if e[0] == 'LATER'), len(rnames)))
for p in problems:
    print('PROBLEM:', p)
