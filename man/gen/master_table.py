# Refresh THE DEFAULT TABLE block of man/master.5 from etc/master.cf.
p='/work/main/man/master.5'; s=open(p).read()
etc=open('/work/main/etc/master.cf').read().split('\n')
start=[i for i,l in enumerate(etc) if l.startswith('# service ')][0]
rows=[l for l in etc[start:] if l.strip()]
block='\n'.join(l.replace('\\','\\e').replace('-','\\-') for l in rows)
h='.SH THE DEFAULT TABLE\n.PP\n.RS\n.nf\n'
i=s.index(h)+len(h); j=s.index('.fi\n',i)
s=s[:i]+block+'\n'+s[j:]
open(p,'w').write(s)
print('\n'.join(rows))
